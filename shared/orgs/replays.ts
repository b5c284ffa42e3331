/**
 * Replay records: who replayed dead letters, when, with which filter, and how it went. One
 * item per replay in one partition (`REPLAYS` / `REPLAY#<startedAt>#<replayId>`): replays are
 * rare operator actions, so one partition stays small and one Query lists the newest.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { REPLAYS_PK, replayKey } from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import { IsoTimestampSchema } from './schemas.ts';
import {
  decodeCursor,
  encodeCursor,
  nowIso,
  parseInput,
  parseItem,
  type RegistryContext,
  run,
  UpdateBuilder,
} from './store.ts';

/** How long a replay record is kept (an audit trail, not a forever log). */
export const REPLAY_RETENTION_DAYS = 400;

/** The filter a replay was asked with, as recorded (ids are counted, not listed). */
export const ReplayFilterRecordSchema = z.lazy(() =>
  z.strictObject({
    orgId: OrgIdSchema.optional(),
    type: z.string().max(64).optional(),
    code: z.string().max(64).optional(),
    since: IsoTimestampSchema.optional(),
    until: IsoTimestampSchema.optional(),
    /** How many letter ids were named (`dlq replay <id…>`, the console's "replay one"). */
    ids: z.number().int().nonnegative().optional(),
  }),
);

// Replays are rare operator actions: their schemas are built on first use (`z.lazy` and these
// builders), not at every function's cold start.
const countsObject = () =>
  z.object({
    replayed: z.number().int().nonnegative(),
    notDeleted: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    notFound: z.number().int().nonnegative(),
  });

const replayRecordObject = () =>
  z.object({
    replayId: z.string().uuid(),
    /** Who asked: an AWS principal ARN, or `<user>@<host>` in local mode. */
    by: z.string().min(1).max(512),
    /** Where it was asked: `console` or `cli`. */
    via: z.enum(['console', 'cli']),
    filter: ReplayFilterRecordSchema,
    /** Letters that matched when the replay was confirmed (the count the operator saw). */
    requested: z.number().int().nonnegative(),
    /** Replays per minute per org the replay was paced at. */
    ratePerMinute: z.number().int().positive(),
    /**
     * What the operator decided for `ACTION_IN_DOUBT` letters (`retry_action`: send unless a look
     * finds the effect; `mark_done`: recorded done, nothing sent). Absent: a plain re-send.
     */
    resolution: z.enum(['resend', 'retry_action', 'mark_done']).optional(),
    status: z.enum(['running', 'finished', 'failed']),
    startedAt: IsoTimestampSchema,
    updatedAt: IsoTimestampSchema,
    finishedAt: IsoTimestampSchema.optional(),
    /** Why a replay stopped early (a sanitized sentence). */
    error: z.string().max(1000).optional(),
    ...countsObject().shape,
  });

export const ReplayRecordSchema = z.lazy(replayRecordObject);
export type ReplayRecord = z.infer<typeof ReplayRecordSchema>;
export type ReplayCounts = z.infer<ReturnType<typeof countsObject>>;

export const StartReplayInputSchema = z.lazy(() => {
  const { shape } = replayRecordObject();
  return z.strictObject({
    by: shape.by,
    via: shape.via,
    filter: ReplayFilterRecordSchema,
    requested: shape.requested,
    ratePerMinute: shape.ratePerMinute,
    resolution: shape.resolution,
  });
});
export type StartReplayInput = z.input<typeof StartReplayInputSchema>;

/** Records that a replay starts (status `running`, counts 0). */
export async function startReplayRecord(
  ctx: RegistryContext,
  input: StartReplayInput,
): Promise<ReplayRecord> {
  const parsed = parseInput(StartReplayInputSchema, input, 'replay');
  const now = nowIso(ctx);
  const record: ReplayRecord = {
    replayId: randomUUID(),
    ...parsed,
    status: 'running',
    startedAt: now,
    updatedAt: now,
    replayed: 0,
    notDeleted: 0,
    failed: 0,
    skipped: 0,
    notFound: 0,
  };
  await run('startReplayRecord', () =>
    ctx.client.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: {
          ...replayKey(record.startedAt, record.replayId),
          ...record,
          expiresAt: Math.floor(ctx.clock() / 1000) + REPLAY_RETENTION_DAYS * 86_400,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
  return record;
}

const UpdateReplaySchema = z.lazy(() => {
  const { shape } = replayRecordObject();
  return countsObject().partial().extend({ status: shape.status.optional(), error: shape.error });
});
export type ReplayUpdate = z.input<typeof UpdateReplaySchema>;

/** Records progress or the end of a replay (`status` other than `running` sets `finishedAt`). */
export async function updateReplayRecord(
  ctx: RegistryContext,
  record: Pick<ReplayRecord, 'replayId' | 'startedAt'>,
  update: ReplayUpdate,
): Promise<ReplayRecord> {
  const parsed = parseInput(UpdateReplaySchema, update, 'replay update');
  const now = nowIso(ctx);
  const builder = new UpdateBuilder().set('updatedAt', now);
  for (const [name, value] of Object.entries(parsed)) {
    if (value !== undefined) builder.set(name, value);
  }
  if (parsed.status !== undefined && parsed.status !== 'running') builder.set('finishedAt', now);
  builder.when('attribute_exists(pk)');
  const { Attributes } = await run('updateReplayRecord', () =>
    ctx.client.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: replayKey(record.startedAt, record.replayId),
        ...builder.build(),
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return parseItem(ReplayRecordSchema, Attributes ?? {});
}

/** A page of replay records, newest first. */
export interface ReplayRecordsPage {
  replays: ReplayRecord[];
  cursor?: string;
}

/** The newest replay records (one Query), paged with an opaque cursor. */
export async function listReplayRecords(
  ctx: RegistryContext,
  options: { limit?: number; cursor?: string } = {},
): Promise<ReplayRecordsPage> {
  const limit = parseInput(z.number().int().min(1).max(200), options.limit ?? 20, 'limit');
  const out = await run('listReplayRecords', () =>
    ctx.client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': REPLAYS_PK },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(options.cursor),
      }),
    ),
  );
  const cursor = encodeCursor(out.LastEvaluatedKey);
  return {
    replays: (out.Items ?? []).map((item) => parseItem(ReplayRecordSchema, item)),
    ...(cursor === undefined ? {} : { cursor }),
  };
}
