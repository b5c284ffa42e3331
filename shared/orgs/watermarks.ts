/**
 * The reconciler's high-water marks (`ORG#<orgId>` / `WATERMARK#<stream>`): values compare as
 * strings (ISO timestamps from toISOString, or zero-padded numbers) and never move backwards.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { StoreError, WatermarkConflictError } from './errors.ts';
import { watermarkKey } from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import { StreamSchema, type Watermark, WatermarkSchema, WatermarkValueSchema } from './schemas.ts';
import {
  nowIso,
  parseInput,
  parseItem,
  type RegistryContext,
  run,
  UpdateBuilder,
} from './store.ts';

export async function getWatermark(
  ctx: RegistryContext,
  orgId: string,
  stream: string,
): Promise<Watermark | undefined> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  parseInput(StreamSchema, stream, 'stream');
  const { Item } = await run('getWatermark', () =>
    ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: watermarkKey(orgId, stream),
        ConsistentRead: true,
      }),
    ),
  );
  return Item === undefined ? undefined : parseItem(WatermarkSchema, Item);
}

/** What {@link advanceWatermark} did. */
export interface AdvanceResult {
  /** `false` when the stored value was already at or past `value` (nothing written). */
  advanced: boolean;
  /** The watermark as stored after the call. */
  watermark: Watermark;
}

/**
 * Moves the watermark forward to `value`, never backwards (conditional write). With `expected`
 * (`null` = "not set yet") the write also requires the stored value to be exactly that, for a
 * reader-modify-writer that must not skip another writer's range: a mismatch throws
 * {@link WatermarkConflictError}.
 */
export async function advanceWatermark(
  ctx: RegistryContext,
  orgId: string,
  stream: string,
  value: string,
  options: { expected?: string | null } = {},
): Promise<AdvanceResult> {
  parseInput(OrgIdSchema, orgId, 'orgId');
  parseInput(StreamSchema, stream, 'stream');
  parseInput(WatermarkValueSchema, value, 'watermark value');
  const expected = parseInput(
    WatermarkValueSchema.nullable().optional(),
    options.expected,
    'expected',
  );
  const update = new UpdateBuilder()
    .set('orgId', orgId)
    .set('stream', stream)
    .set('value', value)
    .set('updatedAt', nowIso(ctx));
  const current = update.name('value');
  if (expected === undefined) {
    update.when(`attribute_not_exists(${current}) OR ${current} < ${update.value(value)}`);
  } else if (expected === null) {
    update.when(`attribute_not_exists(${current})`);
  } else {
    update
      .when(`${current} = ${update.value(expected)}`)
      .when(`${current} < ${update.value(value)}`);
  }
  return run<AdvanceResult>(
    'advanceWatermark',
    async () => {
      const { Attributes } = await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: watermarkKey(orgId, stream),
          ...update.build(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { advanced: true, watermark: parseItem(WatermarkSchema, Attributes ?? {}) };
    },
    async () => {
      const stored = await getWatermark(ctx, orgId, stream);
      if (expected !== undefined && (stored?.value ?? null) !== expected) {
        throw new WatermarkConflictError(orgId, stream, stored?.value);
      }
      if (stored === undefined) {
        throw new StoreError('advanceWatermark', {
          cause: new Error('condition failed on no item'),
        });
      }
      return { advanced: false, watermark: stored };
    },
  );
}
