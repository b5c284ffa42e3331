import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { createOrgRegistry, FLOW_RETENTION_DAYS, hourOf, OrgIdSchema } from '../orgs/index.ts';
import { type FlowBuckets, flowBuckets } from './flow-series.ts';
import { DAY_MS } from './period.ts';
import type { EventFigures, ReportLog } from './ports.ts';
import type { EventCounts, Period } from './types.ts';

/** Options of {@link dynamoEventFigures}. */
export interface DynamoEventFiguresOptions {
  readonly client: DynamoDBDocumentClient;
  /** The orgs table (ORGS_TABLE), where the worker's event claims live. */
  readonly tableName: string;
  /** Epoch ms. */
  readonly clock: () => number;
  /**
   * How long event claims live (DEDUPE_TTL_DAYS): a period starting earlier than this before
   * now is answered `null` ("not available"), never an undercount.
   */
  readonly retentionDays: number;
  /**
   * How long one scan's counts serve later calls for the same period: every org of a scheduled
   * run shares one scan. @default 300000 (5 min)
   */
  readonly reuseMs?: number;
  /** Gets one line per scan with what it read (items, pages, read capacity). */
  readonly log?: ReportLog | undefined;
}

/** What one scan read (the cost of the event figures). */
export interface EventScanCost {
  readonly pages: number;
  readonly itemsScanned: number;
  readonly itemsMatched: number;
  readonly readCapacityUnits: number;
}

/** The claim fields the counts use; other attributes are not projected. */
const ClaimSchema = z.lazy(() =>
  z.object({
    orgId: OrgIdSchema,
    origin: z.string(),
    status: z.string(),
    firstSeenAt: z.string(),
    updatedAt: z.string(),
  }),
);

/**
 * {@link EventFigures} from our own records: the worker's event claims (`EVENT#<key>` /
 * `EVENT` items of the orgs table, one per distinct event, see docs/data-model.md).
 *
 * - `received`: claims with origin `webhook` first seen in the period (distinct events that came
 *   by webhook; duplicates are not counted).
 * - `recovered`: claims with origin `reconciler` first seen in the period (events the reconciler
 *   found through the API because their webhook never came).
 * - `deadLettered`: claims in status `failed` last updated in the period (the worker marks an
 *   event `failed` when it sends it to the dead-letter queue; a replay that succeeds clears it).
 *
 * Claims have no index by org and time, so the counts come from one Scan of the table per
 * period (filtered on the server, projected to five attributes), shared by every org of the run
 * for `reuseMs`. A Scan reads the whole table: its cost grows with the events of the last
 * DEDUPE_TTL_DAYS (≈ 0.5 read unit per 4 KB read, eventually consistent; about 200 bytes a
 * claim: 100,000 claims ≈ 2,500 read units ≈ $0.0003 on demand), not with the orgs reported.
 *
 * @example
 * const events = dynamoEventFigures({ client: document, tableName, clock: Date.now, retentionDays: 7 });
 * await events.counts('org5f4e3d2c1b0a', period); // { received: 412, recovered: 3, deadLettered: 1 }
 */
export function dynamoEventFigures(
  options: DynamoEventFiguresOptions,
): Required<EventFigures> & { lastScanCost(): EventScanCost | undefined } {
  const { client, tableName, clock, retentionDays, log } = options;
  const reuseMs = options.reuseMs ?? 300_000;
  const scans = new Map<string, { at: number; counts: Promise<Map<string, EventCounts>> }>();
  // the flow counters are read with the registry's own query (no scan)
  const flowReader = createOrgRegistry({ client, tableName, clock });
  let lastCost: EventScanCost | undefined;

  const scan = async (period: Period): Promise<Map<string, EventCounts>> => {
    const since = new Date(period.sinceMs).toISOString();
    const until = new Date(period.untilMs).toISOString();
    const byOrg = new Map<string, { received: number; recovered: number; deadLettered: number }>();
    const cost = { pages: 0, itemsScanned: 0, itemsMatched: 0, readCapacityUnits: 0 };
    const pages = paginateScan(
      { client },
      {
        TableName: tableName,
        // claims only; their timestamps are toISOString() text, so strings compare as times
        FilterExpression:
          'sk = :claim AND ((firstSeenAt >= :since AND firstSeenAt < :until) OR ' +
          '(#status = :failed AND updatedAt >= :since AND updatedAt < :until))',
        ProjectionExpression: 'orgId, origin, #status, firstSeenAt, updatedAt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':claim': 'EVENT',
          ':since': since,
          ':until': until,
          ':failed': 'failed',
        },
        ReturnConsumedCapacity: 'TOTAL',
      },
    );
    for await (const out of pages) {
      cost.pages++;
      cost.itemsScanned += out.ScannedCount ?? 0;
      cost.readCapacityUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
      for (const item of out.Items ?? []) {
        const claim = ClaimSchema.parse(item);
        cost.itemsMatched++;
        let counts = byOrg.get(claim.orgId);
        if (counts === undefined) {
          counts = { received: 0, recovered: 0, deadLettered: 0 };
          byOrg.set(claim.orgId, counts);
        }
        if (claim.firstSeenAt >= since && claim.firstSeenAt < until) {
          if (claim.origin === 'webhook') counts.received++;
          else if (claim.origin === 'reconciler') counts.recovered++;
        }
        if (claim.status === 'failed' && claim.updatedAt >= since && claim.updatedAt < until) {
          counts.deadLettered++;
        }
      }
    }
    lastCost = cost;
    log?.info('event figures scanned', { since, until, ...cost });
    return byOrg;
  };

  return {
    async counts(orgId, period) {
      const now = clock();
      if (period.sinceMs < now - retentionDays * DAY_MS) return null;
      const key = `${period.sinceMs}/${period.untilMs}`;
      let entry = scans.get(key);
      if (entry === undefined || now - entry.at > reuseMs) {
        for (const [k, e] of scans) if (now - e.at > reuseMs) scans.delete(k);
        entry = { at: now, counts: scan(period) };
        scans.set(key, entry);
        // a failed scan is not reused: the next org (or run) tries again
        entry.counts.catch(() => scans.delete(key));
      }
      const counts = (await entry.counts).get(orgId);
      return counts ?? { received: 0, recovered: 0, deadLettered: 0 };
    },
    async flow(orgId, period) {
      return eventFlowOf(flowReader, orgId, period, clock());
    },
    lastScanCost: () => lastCost,
  };
}

/** Periods up to this long are charted per hour, longer ones per day. */
const HOURLY_UP_TO_MS = 2 * DAY_MS;

/**
 * The org's flow over `period` from the hourly counters (one Query; never a scan): hour
 * buckets for periods up to 2 days, day buckets beyond. `null` when the period starts before
 * the counters' retention.
 */
export async function eventFlowOf(
  registry: Pick<ReturnType<typeof createOrgRegistry>, 'readEventFlow'>,
  orgId: string,
  period: Period,
  nowMs: number,
): Promise<FlowBuckets | null> {
  if (period.sinceMs < nowMs - FLOW_RETENTION_DAYS * DAY_MS) return null;
  const bucket = period.untilMs - period.sinceMs <= HOURLY_UP_TO_MS ? 'hour' : 'day';
  const size = bucket === 'hour' ? 3_600_000 : DAY_MS;
  const fromMs = Math.floor(period.sinceMs / size) * size;
  const count = Math.max(1, Math.ceil((period.untilMs - fromMs) / size));
  const flow = await registry.readEventFlow({
    orgId,
    sinceHour: hourOf(fromMs),
    untilHour: hourOf(period.untilMs - 1),
  });
  return flowBuckets(flow, { bucket, fromMs, count });
}
