/**
 * Dedupe records (`EVENT#<dedupeKey>` / `EVENT`) and action records
 * (`EVENT#<dedupeKey>` / `ACTION#<ruleId>#<actionIndex>`), both expiring through TTL.
 *
 * DynamoDB deletes expired items lazily (often within days, not at once), so every read and
 * condition here treats an item past its `expiresAt` as absent.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ActionStateError, EventNotFoundError, StoreError } from './errors.ts';
import { recordArrival, recordOutcome } from './flow.ts';
import {
  ACTION_PREFIX,
  type ActionKey,
  actionKey,
  EVENT_PREFIX,
  eventKey,
  type ItemKey,
} from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import {
  type ActionRecord,
  ActionRecordSchema,
  DedupeKeySchema,
  type EventOrigin,
  EventOriginSchema,
  type EventRecord,
  EventRecordSchema,
  type EventStatus,
  EventStatusSchema,
  type JsonObject,
  JsonObjectSchema,
  RuleIdSchema,
} from './schemas.ts';
import {
  nowIso,
  parseInput,
  parseItem,
  queryPages,
  type RegistryContext,
  run,
  UpdateBuilder,
} from './store.ts';

/** Dedupe and action records live at least this long (ARCHITECTURE: TTL ≥ 7 days). */
export const MIN_DEDUPE_TTL_SECONDS = 7 * 86_400;
/** How long an action attempt is presumed alive before another may take over. */
export const DEFAULT_ACTION_LEASE_MS = 5 * 60_000;

const TtlSchema = z.lazy(() =>
  z
    .number()
    .int()
    .min(MIN_DEDUPE_TTL_SECONDS)
    .max(366 * 86_400),
);
const ActionKeySchema = z.lazy(() =>
  z.object({
    dedupeKey: DedupeKeySchema,
    ruleId: RuleIdSchema,
    actionIndex: z.number().int().min(0).max(9999),
  }),
);

const nowSeconds = (ctx: RegistryContext): number => Math.floor(ctx.clock() / 1000);
const expiresAtFor = (ctx: RegistryContext, ttlSeconds: number | undefined): number =>
  nowSeconds(ctx) + parseInput(TtlSchema, ttlSeconds ?? MIN_DEDUPE_TTL_SECONDS, 'ttlSeconds');

/**
 * Claims an event by its dedupe key with one conditional put: `'new'` the first time (or after
 * the record expired), `'duplicate'` otherwise. A duplicate may be a redelivery of an event
 * whose first handling died: read {@link getEvent} and carry on if it is still `claimed` (the
 * action records then keep each side effect single).
 */
export async function claimEvent(
  ctx: RegistryContext,
  dedupeKey: string,
  options: { orgId: string; origin: EventOrigin; ttlSeconds?: number },
): Promise<'new' | 'duplicate'> {
  parseInput(DedupeKeySchema, dedupeKey, 'dedupeKey');
  const orgId = parseInput(OrgIdSchema, options.orgId, 'orgId');
  const origin = parseInput(EventOriginSchema, options.origin, 'origin');
  const now = nowIso(ctx);
  const record: EventRecord = {
    dedupeKey,
    orgId,
    origin,
    status: 'claimed',
    firstSeenAt: now,
    updatedAt: now,
    expiresAt: expiresAtFor(ctx, options.ttlSeconds),
  };
  const claim = await run<'new' | 'duplicate'>(
    'claimEvent',
    async () => {
      await ctx.client.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { ...eventKey(dedupeKey), ...record },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': nowSeconds(ctx) },
        }),
      );
      return 'new';
    },
    () => 'duplicate',
  );
  // a failed count throws (StoreError): the message comes back, its claim is then a
  // duplicate and the event is handled, uncounted (a count is never doubled)
  if (claim === 'new') await recordArrival(ctx, dedupeKey, orgId, origin);
  return claim;
}

/** The live dedupe record of an event (strongly consistent), or `undefined`. */
export async function getEvent(
  ctx: RegistryContext,
  dedupeKey: string,
): Promise<EventRecord | undefined> {
  parseInput(DedupeKeySchema, dedupeKey, 'dedupeKey');
  return getLive(ctx, 'getEvent', eventKey(dedupeKey), EventRecordSchema);
}

/**
 * Sets the status of a claimed event; {@link EventNotFoundError} when there is no live claim.
 * Reaching `done` or `failed` is counted in the event flow (shared/orgs/flow.ts).
 */
export async function markEvent(
  ctx: RegistryContext,
  dedupeKey: string,
  status: EventStatus,
): Promise<EventRecord> {
  parseInput(DedupeKeySchema, dedupeKey, 'dedupeKey');
  parseInput(EventStatusSchema, status, 'status');
  const now = nowIso(ctx);
  const update = new UpdateBuilder().set('status', status).set('updatedAt', now);
  update
    .when('attribute_exists(pk)')
    .when(`${update.name('expiresAt')} >= ${update.value(nowSeconds(ctx))}`);
  const { record, previous } = await run(
    'markEvent',
    async () => {
      // the old image tells whether the status changed (only a change is counted)
      const { Attributes } = await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: eventKey(dedupeKey),
          ...update.build(),
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = parseItem(EventRecordSchema, Attributes ?? {});
      return { record: { ...old, status, updatedAt: now }, previous: old.status };
    },
    () => {
      throw new EventNotFoundError(dedupeKey);
    },
  );
  await recordOutcome(ctx, record, previous);
  return record;
}

/**
 * Records a sign of life of a claimed event (its `updatedAt` moves; nothing else changes), for
 * an event that waits on purpose (a deferred, rate-limited one): the reconciler rescues only
 * events without an outcome and without a sign of life for its grace period. `false` when the
 * event has no live `claimed` record (not claimed yet, or already done or failed).
 */
export async function touchEvent(ctx: RegistryContext, dedupeKey: string): Promise<boolean> {
  parseInput(DedupeKeySchema, dedupeKey, 'dedupeKey');
  const update = new UpdateBuilder().set('updatedAt', nowIso(ctx));
  update
    .when(`${update.name('status')} = ${update.value('claimed')}`)
    .when(`${update.name('expiresAt')} >= ${update.value(nowSeconds(ctx))}`);
  return run(
    'touchEvent',
    async () => {
      await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: eventKey(dedupeKey),
          ...update.build(),
        }),
      );
      return true;
    },
    () => false,
  );
}

/**
 * What {@link beginAction} decided:
 * - `first`: no attempt before; do the side effect, then {@link completeAction}.
 * - `in_doubt`: an earlier attempt began and never completed (its worker died, or timed out):
 *   the effect may exist. Look for it in Tallyfy (by {@link actionMarker}) and complete with
 *   what you find; redo it only if it is not there.
 * - `done`: completed before; skip it and use `record.result`.
 * - `busy`: another attempt is running (its lease is live); do not touch it, let the message
 *   come back later.
 */
export type BeginActionResult =
  | { outcome: 'first'; record: ActionRecord }
  | { outcome: 'in_doubt'; record: ActionRecord }
  | { outcome: 'done'; record: ActionRecord }
  | { outcome: 'busy'; record: ActionRecord };

/**
 * Records that an attempt of an action begins, BEFORE its side effect, with one conditional
 * UpdateItem: allowed when there is no record, or the record is `started` and its attempt
 * lease has run out. See {@link BeginActionResult} for what to do with each outcome.
 */
export async function beginAction(
  ctx: RegistryContext,
  key: ActionKey,
  options: { leaseMs?: number; ttlSeconds?: number } = {},
): Promise<BeginActionResult> {
  const parsed = parseInput(ActionKeySchema, key, 'action key');
  const leaseMs = parseInput(
    z.number().int().min(1000).max(3_600_000),
    options.leaseMs ?? DEFAULT_ACTION_LEASE_MS,
    'leaseMs',
  );
  const now = ctx.clock();
  const update = new UpdateBuilder()
    .set('dedupeKey', parsed.dedupeKey)
    .set('ruleId', parsed.ruleId)
    .set('actionIndex', parsed.actionIndex)
    .set('status', 'started')
    .set('startedAt', new Date(now).toISOString())
    .set('leaseUntil', new Date(now + leaseMs).toISOString())
    .set('expiresAt', expiresAtFor(ctx, options.ttlSeconds));
  const attempts = update.name('attempts');
  update.setExpression(
    `${attempts} = if_not_exists(${attempts}, ${update.value(0)}) + ${update.value(1)}`,
  );
  const status = update.name('status');
  const leaseUntil = update.name('leaseUntil');
  update.when(
    `attribute_not_exists(pk) OR ${update.name('expiresAt')} < ${update.value(nowSeconds(ctx))} OR (${status} = ${update.value('started')} AND ${leaseUntil} <= ${update.value(new Date(now).toISOString())})`,
  );
  return run<BeginActionResult>(
    'beginAction',
    async () => {
      const { Attributes } = await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: actionKey(parsed),
          ...update.build(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      const record = parseItem(ActionRecordSchema, Attributes ?? {});
      return { outcome: record.attempts === 1 ? 'first' : 'in_doubt', record };
    },
    async () => {
      const record = await getAction(ctx, parsed);
      if (record === undefined) {
        throw new StoreError('beginAction', { cause: new Error('condition failed on no record') });
      }
      return { outcome: record.status === 'done' ? 'done' : 'busy', record };
    },
  );
}

/**
 * Records the action's outcome (e.g. `{ runId }`) once its side effect is confirmed. Completing
 * a `done` record again returns it unchanged (the first result stays); completing an action that
 * never began throws {@link ActionStateError}.
 */
export async function completeAction(
  ctx: RegistryContext,
  key: ActionKey,
  result: JsonObject,
): Promise<ActionRecord> {
  const parsed = parseInput(ActionKeySchema, key, 'action key');
  const body = parseInput(JsonObjectSchema, result, 'action result');
  const update = new UpdateBuilder()
    .set('status', 'done')
    .set('result', body)
    .set('completedAt', nowIso(ctx));
  update.when(`${update.name('status')} = ${update.value('started')}`);
  return run(
    'completeAction',
    async () => {
      const { Attributes } = await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: actionKey(parsed),
          ...update.build(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseItem(ActionRecordSchema, Attributes ?? {});
    },
    async () => {
      const record = await getAction(ctx, parsed);
      if (record?.status === 'done') return record;
      throw new ActionStateError(
        `action ${parsed.actionIndex} of rule ${parsed.ruleId} for event ${parsed.dedupeKey} has no attempt begun; call beginAction first`,
      );
    },
  );
}

/**
 * Withdraws a `started` attempt whose side effect certainly did not happen (the request was
 * never sent, or Tallyfy refused it): the next attempt is then `first`, not `in_doubt`.
 * `attempts` must be the record's, so a newer attempt is never withdrawn. `false` when nothing
 * matched.
 */
export async function abandonAction(
  ctx: RegistryContext,
  key: ActionKey,
  options: { attempts: number },
): Promise<boolean> {
  const parsed = parseInput(ActionKeySchema, key, 'action key');
  return run(
    'abandonAction',
    async () => {
      await ctx.client.send(
        new DeleteCommand({
          TableName: ctx.tableName,
          Key: actionKey(parsed),
          ConditionExpression: '#status = :started AND attempts = :attempts',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':started': 'started', ':attempts': options.attempts },
        }),
      );
      return true;
    },
    () => false,
  );
}

/** The live action record, strongly consistent, or `undefined`. */
export async function getAction(
  ctx: RegistryContext,
  key: ActionKey,
): Promise<ActionRecord | undefined> {
  const parsed = parseInput(ActionKeySchema, key, 'action key');
  return getLive(ctx, 'getAction', actionKey(parsed), ActionRecordSchema);
}

/** A record with a TTL, read strongly consistent; `undefined` when absent or expired. */
async function getLive<T extends { expiresAt: number }>(
  ctx: RegistryContext,
  operation: string,
  key: ItemKey,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  const { Item } = await run(operation, () =>
    ctx.client.send(new GetCommand({ TableName: ctx.tableName, Key: key, ConsistentRead: true })),
  );
  if (Item === undefined) return undefined;
  const record = parseItem(schema, Item);
  // DynamoDB deletes expired items late (within days): an expired record counts as gone
  return record.expiresAt < nowSeconds(ctx) ? undefined : record;
}

/** Every live action record of an event, in rule then action order (one Query). */
export async function listActions(
  ctx: RegistryContext,
  dedupeKey: string,
): Promise<ActionRecord[]> {
  parseInput(DedupeKeySchema, dedupeKey, 'dedupeKey');
  const records: ActionRecord[] = [];
  const pages = queryPages(ctx, 'listActions', {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': `${EVENT_PREFIX}${dedupeKey}`, ':prefix': ACTION_PREFIX },
    ConsistentRead: true,
  });
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const record = parseItem(ActionRecordSchema, item);
      if (record.expiresAt >= nowSeconds(ctx)) records.push(record);
    }
  }
  return records;
}
