/**
 * Event flow: hourly counters and a log of finished events, kept beside the dedupe claims so
 * the console and the reports can show how events flow without scanning the table.
 *
 * - Counters (`FLOW#<orgId>` and `FLOW#*` / `HOUR#<yyyy-mm-ddThh>`): per org and for all orgs,
 *   per UTC hour: `received` (a new claim by a webhook envelope), `recovered` (a new claim by a
 *   reconciler envelope: the reconciler enqueues only events with no seen marker and no claim,
 *   its `EventsRecovered`), `processed` (claim marked `done`), `deadLettered` (marked `failed`),
 *   each also per event type (`<figure>#<type>`). Written with ADD, so concurrent workers
 *   never lose a count. TTL {@link FLOW_RETENTION_DAYS} days.
 * - Epoch (`FLOW#*` / `EPOCH`): the first hour counted, so hours before it read as "no data"
 *   (`null`), never as zeros. Written once per hour at most (when an hour's first event makes
 *   the all-orgs counter item), conditionally.
 * - Outcomes (`OUTCOMES#<orgId>` and `OUTCOMES#*#<yyyy-mm-dd>` / `<finishedAt>#<dedupeKey>`):
 *   one item per finished event and scope, newest first by its sort key. TTL
 *   {@link OUTCOME_RETENTION_DAYS} days.
 *
 * Cost per event: 2 counter updates when claimed, 2 counter updates and 2 outcome puts when it
 * finishes (6 writes of < 1 KB); reading 24 hours or 14 days is one Query of ≤ 336 small items.
 */
import {
  BatchWriteCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { StoreError } from './errors.ts';
import {
  ALL_ORGS_SCOPE,
  FLOW_EPOCH_SK,
  FLOW_HOUR_PREFIX,
  flowKey,
  flowPartition,
  outcomeKey,
  outcomePartition,
} from './keys.ts';
import { OrgIdSchema } from './org-id.ts';
import {
  type EventOrigin,
  type EventRecord,
  type EventStatus,
  IsoTimestampSchema,
} from './schemas.ts';
import { decodeCursor, encodeCursor, parseInput, type RegistryContext, run } from './store.ts';

/** How long hourly counters live: 14 days of charts plus margin. */
export const FLOW_RETENTION_DAYS = 16;
/** How long finished-event items live. */
export const OUTCOME_RETENTION_DAYS = 14;

/** The figures counted per hour. */
export const FLOW_FIGURES = ['received', 'recovered', 'processed', 'deadLettered'] as const;
export type FlowFigure = (typeof FLOW_FIGURES)[number];

/** Counts of one hour (or any bucket), in total and per event type. */
export interface FlowCounts {
  received: number;
  recovered: number;
  processed: number;
  deadLettered: number;
}

/** One stored hour. */
export interface FlowHour extends FlowCounts {
  /** `yyyy-mm-ddThh` (UTC). */
  hour: string;
  /** The same figures per event type (`task.completed`…). */
  byType: Record<string, FlowCounts>;
}

/** What {@link readEventFlow} returns. */
export interface EventFlow {
  /** The first hour counted anywhere (`yyyy-mm-ddThh`), `null` when nothing was ever counted. */
  epoch: string | null;
  /** Hours with at least one count, oldest first; missing hours had none. */
  hours: FlowHour[];
}

/** One finished event as logged. */
export interface EventOutcome {
  dedupeKey: string;
  orgId: string;
  /** The event type, from the dedupe key (`task.completed`…, `unknown`). */
  type: string;
  /** The task or process id when the key carries one. */
  subject: string | null;
  origin: EventOrigin;
  status: Extract<EventStatus, 'done' | 'failed'>;
  firstSeenAt: string;
  finishedAt: string;
}

const HOUR_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}$/;
const HourSchema = z.lazy(() => z.string().regex(HOUR_TEXT, 'an hour as yyyy-mm-ddThh (UTC)'));
const EventTypeTextSchema = z.lazy(() =>
  z.string().regex(/^[a-z]+(\.[a-z_]+)?$/, 'an event type such as task.completed'),
);

/** `yyyy-mm-ddThh` of an instant (UTC). */
export const hourOf = (ms: number): string => new Date(ms).toISOString().slice(0, 13);

/** Epoch ms of the start of an hour text. */
export const hourStartMs = (hour: string): number => Date.parse(`${hour}:00:00.000Z`);

/**
 * The event type and subject a dedupe key carries: keys are `<type>:<subject>:<time>` or
 * `<type>:sha256:<hex>` (shared/events `dedupeKeyFor` / `bodyDedupeKey`).
 *
 * @example describeDedupeKey('task.completed:t1:2026-11-19T10:42:13.000Z')
 * // { type: 'task.completed', subject: 't1' }
 */
export function describeDedupeKey(dedupeKey: string): { type: string; subject: string | null } {
  const [type = '', subject = ''] = dedupeKey.split(':', 2);
  if (!EventTypeTextSchema.safeParse(type).success) return { type: 'unknown', subject: null };
  return { type, subject: subject === '' || subject === 'sha256' ? null : subject };
}

const nowSeconds = (ctx: RegistryContext): number => Math.floor(ctx.clock() / 1000);

/** Adds 1 to `figure` (and its per-type twin) of the current hour, for the org and for all. */
async function count(
  ctx: RegistryContext,
  orgId: string,
  dedupeKey: string,
  figure: FlowFigure,
): Promise<void> {
  const now = ctx.clock();
  const hour = hourOf(now);
  const { type } = describeDedupeKey(dedupeKey);
  const expiresAt = Math.floor(hourStartMs(hour) / 1000) + FLOW_RETENTION_DAYS * 86_400;
  const bump = (scope: string) =>
    new UpdateCommand({
      TableName: ctx.tableName,
      Key: flowKey(scope, hour),
      UpdateExpression:
        'ADD #figure :one, #typed :one SET #scope = :scope, #hour = :hour, #ttl = :ttl',
      ExpressionAttributeNames: {
        '#figure': figure,
        '#typed': `${figure}#${type}`,
        '#scope': 'scope',
        '#hour': 'hour',
        '#ttl': 'expiresAt',
      },
      ExpressionAttributeValues: { ':one': 1, ':scope': scope, ':hour': hour, ':ttl': expiresAt },
      ReturnValues: scope === ALL_ORGS_SCOPE ? 'UPDATED_OLD' : 'NONE',
    });
  await run('countEventFlow', async () => {
    const [, all] = await Promise.all([
      ctx.client.send(bump(orgId)),
      ctx.client.send(bump(ALL_ORGS_SCOPE)),
    ]);
    // the hour's first count anywhere: make sure the epoch exists (kept, never moved)
    if (all.Attributes?.hour === undefined) await writeEpoch(ctx, hour);
  });
}

async function writeEpoch(ctx: RegistryContext, hour: string): Promise<void> {
  await run(
    'writeFlowEpoch',
    async () => {
      await ctx.client.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: { pk: flowPartition(ALL_ORGS_SCOPE), sk: FLOW_EPOCH_SK },
          UpdateExpression: 'SET #since = :hour',
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#since': 'since' },
          ExpressionAttributeValues: { ':hour': hour },
        }),
      );
    },
    // another worker wrote it first, or counting began in an earlier hour: both are answers
    () => undefined,
  );
}

/**
 * Counts a new claim: `received` for a webhook envelope, `recovered` for a reconciler one.
 * A replay's claim is new only when the first claim expired: it is neither.
 */
export async function recordArrival(
  ctx: RegistryContext,
  dedupeKey: string,
  orgId: string,
  origin: EventOrigin,
): Promise<void> {
  if (origin === 'webhook') await count(ctx, orgId, dedupeKey, 'received');
  else if (origin === 'reconciler') await count(ctx, orgId, dedupeKey, 'recovered');
}

/**
 * Counts an event reaching `done` (processed) or `failed` (dead-lettered) and logs it as the
 * org's and everyone's latest outcome. Only a change of status counts: marking twice does not.
 */
export async function recordOutcome(
  ctx: RegistryContext,
  record: EventRecord,
  previous: EventStatus,
): Promise<void> {
  if (record.status === previous || record.status === 'claimed') return;
  const status = record.status;
  const counted = count(
    ctx,
    record.orgId,
    record.dedupeKey,
    status === 'done' ? 'processed' : 'deadLettered',
  );
  const finishedAt = record.updatedAt;
  const { type, subject } = describeDedupeKey(record.dedupeKey);
  const item = {
    dedupeKey: record.dedupeKey,
    orgId: record.orgId,
    type,
    subject,
    origin: record.origin,
    status,
    firstSeenAt: record.firstSeenAt,
    finishedAt,
    expiresAt: nowSeconds(ctx) + OUTCOME_RETENTION_DAYS * 86_400,
  };
  const puts = [record.orgId, ALL_ORGS_SCOPE].map((scope) => ({
    PutRequest: { Item: { ...outcomeKey(scope, finishedAt, record.dedupeKey), ...item } },
  }));
  const logged = run('logEventOutcome', async () => {
    let requests: Record<string, unknown>[] | undefined = puts;
    for (let round = 0; requests !== undefined && requests.length > 0; round++) {
      if (round > 5) {
        // DynamoDB kept throttling this batch: fail as the store does, naming what was left
        throw new StoreError('logEventOutcome', {
          cause: new RangeError(`${requests.length} outcome items left unprocessed`),
        });
      }
      const out = await ctx.client.send(
        new BatchWriteCommand({ RequestItems: { [ctx.tableName]: requests } }),
      );
      requests = out.UnprocessedItems?.[ctx.tableName] as Record<string, unknown>[] | undefined;
    }
  });
  // side by side: one round trip on the worker's path, not two
  await Promise.all([counted, logged]);
}

const ReadFlowSchema = z.lazy(() =>
  z.strictObject({
    /** One org, or every org when absent. */
    orgId: OrgIdSchema.optional(),
    /** First hour, inclusive. */
    sinceHour: HourSchema,
    /** Last hour, inclusive. */
    untilHour: HourSchema,
  }),
);
export type ReadFlowInput = z.input<typeof ReadFlowSchema>;

const zeros = (): FlowCounts => ({ received: 0, recovered: 0, processed: 0, deadLettered: 0 });

/**
 * The stored hours of `[sinceHour, untilHour]` for an org or for all orgs (one Query, paged),
 * and the epoch. Turn them into buckets with `flowBuckets` (shared/reports).
 */
export async function readEventFlow(
  ctx: RegistryContext,
  input: ReadFlowInput,
): Promise<EventFlow> {
  const { orgId, sinceHour, untilHour } = parseInput(ReadFlowSchema, input, 'event flow query');
  const scope = orgId ?? ALL_ORGS_SCOPE;
  const hours: FlowHour[] = [];
  const epoch = await run('readFlowEpoch', async () => {
    const out = await ctx.client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk AND sk = :sk',
        ExpressionAttributeValues: { ':pk': flowPartition(ALL_ORGS_SCOPE), ':sk': FLOW_EPOCH_SK },
      }),
    );
    const since = out.Items?.[0]?.since;
    return typeof since === 'string' && HOUR_TEXT.test(since) ? since : null;
  });
  await run('readEventFlow', async () => {
    const pages = paginateQuery(
      { client: ctx.client },
      {
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': flowPartition(scope),
          ':from': `${FLOW_HOUR_PREFIX}${sinceHour}`,
          ':to': `${FLOW_HOUR_PREFIX}${untilHour}`,
        },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) hours.push(toFlowHour(item));
    }
  });
  return { epoch, hours };
}

function toFlowHour(item: Record<string, unknown>): FlowHour {
  const hour = String(item.hour ?? '');
  const totals = zeros();
  const byType: Record<string, FlowCounts> = {};
  for (const [name, value] of Object.entries(item)) {
    if (typeof value !== 'number') continue;
    const [figure, type] = name.split('#', 2) as [string, string | undefined];
    if (!(FLOW_FIGURES as readonly string[]).includes(figure)) continue;
    if (type === undefined) totals[figure as FlowFigure] = value;
    else {
      byType[type] ??= zeros();
      (byType[type] as FlowCounts)[figure as FlowFigure] = value;
    }
  }
  return { hour, ...totals, byType };
}

const ListOutcomesSchema = z.lazy(() =>
  z.strictObject({
    orgId: OrgIdSchema.optional(),
    type: EventTypeTextSchema.optional(),
    /** Rows wanted. @default 50 */
    limit: z.number().int().min(1).max(200).optional(),
    /** From a previous page. */
    cursor: z.string().min(1).max(2048).optional(),
  }),
);
export type ListOutcomesInput = z.input<typeof ListOutcomesSchema>;

/** A page of outcomes, newest first. */
export interface OutcomesPage {
  outcomes: EventOutcome[];
  /** Pass back for the next (older) page; absent at the end. */
  cursor?: string;
  /** Items read for this page (the type filter reads past what it returns). */
  itemsRead: number;
}

const OutcomeItemSchema = z.lazy(() =>
  z.object({
    dedupeKey: z.string(),
    orgId: z.string(),
    type: z.string(),
    subject: z.string().nullable().optional(),
    origin: z.enum(['webhook', 'reconciler', 'replay']),
    status: z.enum(['done', 'failed']),
    firstSeenAt: IsoTimestampSchema,
    finishedAt: IsoTimestampSchema,
  }),
);

/** Reads at most this many items for one page, so a rare type cannot make a page read everything. */
const MAX_ITEMS_PER_PAGE = 2_000;

/**
 * The latest finished events of an org (or of all orgs), newest first, optionally of one type;
 * paged with an opaque cursor. All orgs are read day by day (`OUTCOMES#*#<day>`), back to
 * {@link OUTCOME_RETENTION_DAYS}.
 */
export async function listEventOutcomes(
  ctx: RegistryContext,
  input: ListOutcomesInput = {},
): Promise<OutcomesPage> {
  const {
    orgId,
    type,
    limit = 50,
    cursor,
  } = parseInput(ListOutcomesSchema, input, 'event outcomes query');
  const position = decodeCursor(cursor) as { day?: unknown; key?: unknown } | undefined;
  const today = new Date(ctx.clock()).toISOString().slice(0, 10);
  let day: string | undefined =
    orgId === undefined ? (typeof position?.day === 'string' ? position.day : today) : undefined;
  let start = position?.key as Record<string, unknown> | undefined;
  // items past their retention may linger until TTL deletes them: they are not shown
  const cutoff = new Date(ctx.clock() - OUTCOME_RETENTION_DAYS * 86_400_000).toISOString();
  const oldestDay = cutoff.slice(0, 10);
  const outcomes: EventOutcome[] = [];
  let itemsRead = 0;
  while (outcomes.length < limit && itemsRead < MAX_ITEMS_PER_PAGE) {
    const partition =
      orgId === undefined
        ? outcomePartition(ALL_ORGS_SCOPE, day as string)
        : outcomePartition(orgId);
    const out = await run('listEventOutcomes', () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          KeyConditionExpression: 'pk = :pk',
          ...(type === undefined
            ? { ExpressionAttributeValues: { ':pk': partition } }
            : {
                FilterExpression: '#type = :type',
                ExpressionAttributeNames: { '#type': 'type' },
                ExpressionAttributeValues: { ':pk': partition, ':type': type },
              }),
          ScanIndexForward: false,
          Limit: Math.min(MAX_ITEMS_PER_PAGE - itemsRead, Math.max(limit - outcomes.length, 25)),
          ExclusiveStartKey: start,
        }),
      ),
    );
    itemsRead += out.ScannedCount ?? 0;
    for (const item of out.Items ?? []) {
      if (outcomes.length >= limit) break;
      const parsed = OutcomeItemSchema.safeParse(item);
      if (!parsed.success) continue;
      if (parsed.data.finishedAt < cutoff) continue;
      outcomes.push({ ...parsed.data, subject: parsed.data.subject ?? null });
      start = { pk: item.pk, sk: item.sk };
    }
    if (outcomes.length >= limit) {
      // more may follow this item (in this partition, or in older days)
      return { outcomes, cursor: encodeCursor({ day, key: start }) as string, itemsRead };
    }
    start = out.LastEvaluatedKey;
    if (start !== undefined) continue;
    if (orgId !== undefined || day === undefined) return { outcomes, itemsRead };
    // all orgs: on to the day before, until the retention ends
    const previous = new Date(Date.parse(`${day}T00:00:00.000Z`) - 86_400_000)
      .toISOString()
      .slice(0, 10);
    if (previous < oldestDay) return { outcomes, itemsRead };
    day = previous;
  }
  return {
    outcomes,
    ...(start === undefined && day === undefined
      ? {}
      : { cursor: encodeCursor({ day, key: start }) as string }),
    itemsRead,
  };
}
