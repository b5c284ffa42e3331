/**
 * The reconciler's use case: find the events Tallyfy's webhooks never delivered (Tallyfy sends
 * once and never retries) by reading the API, and enqueue them like the receiver would.
 * See docs/reconciler.md.
 */

import { mapBounded } from '../async.ts';
import { errorCodeOf } from '../error-codes.ts';
import {
  createEnvelope,
  type EventEnvelope,
  type EventQueue,
  type EventType,
  QueueSendError,
} from '../events/index.ts';
import type { Logger } from '../observability/index.ts';
import type { Org, OrgRegistry } from '../orgs/index.ts';
import type { TallyfyApi } from '../tallyfy/index.ts';
import { tryParseTallyfyDateMs } from '../tallyfy/index.ts';
import { RECONCILE_UNEXPECTED, ReconcileOrgNotFoundError } from './errors.ts';
import { eventKeys, type WebhookDateFormat, webhookDateFormatOf } from './keys.ts';
import type { SeenEvents } from './seen.ts';

/** The event kinds the reconciler recovers, one watermark each. */
export const RECONCILE_STREAMS = [
  'task.completed',
  'process.launched',
  'process.completed',
] as const;
export type ReconcileStream = (typeof RECONCILE_STREAMS)[number];

/** The watermark stream name of a reconciler stream (`reconciler.task.completed`…). */
export const watermarkStreamOf = (stream: ReconcileStream): string => `reconciler.${stream}`;

/** Tunables of a run; see docs/reconciler.md for how they interact. */
export interface ReconcilerOptions {
  /** Minutes re-read before each watermark (RECONCILER_OVERLAP_MINUTES). */
  overlapMinutes: number;
  /**
   * Events younger than this are left for the next run, so webhooks still in flight land
   * first (RECONCILER_SETTLE_SECONDS). @default 120
   */
  settleSeconds?: number;
  /** How far back the first run of an org (no watermark yet) looks. @default 1440 (one day) */
  initialLookbackMinutes?: number;
  /** Orgs reconciled at once (RECONCILER_CONCURRENCY). @default 4 */
  concurrency?: number;
}

/** The metrics a run records. */
export interface ReconcilerMetrics {
  record(
    name: 'EventsRecovered' | 'EventsReconciled' | 'ReconcileFailures',
    value?: number,
  ): unknown;
}

/** Ports of {@link reconcile}. */
export interface ReconcileDeps {
  registry: Pick<
    OrgRegistry,
    'getOrg' | 'listOrgs' | 'getWatermark' | 'advanceWatermark' | 'getEvent'
  >;
  seen: SeenEvents;
  /** The events queue; `sendBatch` is used when the adapter has it. */
  queue: EventQueue;
  /** A Tallyfy API client authenticated for the org (the token provider's `forOrg`). */
  tallyfyFor: (orgId: string) => Pick<TallyfyApi, 'listTasks' | 'listRuns'>;
  /** Epoch ms. */
  clock: () => number;
  logger: Logger;
  metrics?: ReconcilerMetrics;
  options: ReconcilerOptions;
}

/** What one stream of one org did. */
export interface StreamResult {
  stream: ReconcileStream;
  /** The window read: `[from, until)`, ISO. */
  from: string;
  until: string;
  /** Events the API listed in the window. */
  found: number;
  /** Of those, already delivered (seen marker or worker claim). */
  alreadySeen: number;
  /** Of those, enqueued now: the lost webhooks. */
  recovered: number;
  /** Whether the watermark moved to `until`. */
  advanced: boolean;
  error?: { code: string; message: string };
}

export interface OrgResult {
  orgId: string;
  status: 'reconciled' | 'skipped' | 'failed';
  /** Why an org was skipped (`status_needs_reauth`…). */
  reason?: string;
  recovered: number;
  streams: StreamResult[];
}

export interface ReconcileResult {
  orgs: number;
  recovered: number;
  failedOrgs: string[];
  results: OrgResult[];
}

/** One event as read from the API, before keying. */
interface Found {
  type: EventType;
  subjectId: string;
  /** Epoch ms of the event (the API's time). */
  atMs: number;
  apiTime: string;
  data: unknown;
}

/**
 * Reconciles every active org (bounded concurrency; one org's failure is recorded and the
 * others go on), or only `request.orgId`. For each stream: reads `[watermark − overlap,
 * now − settle)` from the API, drops events already delivered (seen marker or worker claim,
 * under any key the event's webhook may have had), enqueues the rest with origin
 * `reconciler`, marks them seen, and only then advances the watermark.
 *
 * @throws ReconcileOrgNotFoundError when `request.orgId` is not registered
 * @example
 * const result = await reconcile(deps, {});
 * result.recovered; // lost webhooks found and enqueued by this run
 */
export async function reconcile(
  deps: ReconcileDeps,
  request: { orgId?: string | undefined } = {},
): Promise<ReconcileResult> {
  const concurrency = deps.options.concurrency ?? 4;
  let orgs: AsyncIterable<Org> | Org[];
  if (request.orgId !== undefined) {
    const org = await deps.registry.getOrg(request.orgId);
    if (org === undefined) throw new ReconcileOrgNotFoundError(request.orgId);
    orgs = [org];
  } else {
    orgs = deps.registry.listOrgs({ status: 'active' });
  }

  const results = await mapBounded(orgs, concurrency, (org) => reconcileOrg(deps, org));
  results.sort((a, b) => a.orgId.localeCompare(b.orgId));
  const recovered = results.reduce((sum, r) => sum + r.recovered, 0);
  const failedOrgs = results.filter((r) => r.status === 'failed').map((r) => r.orgId);
  deps.metrics?.record('EventsRecovered', recovered);
  deps.metrics?.record(
    'EventsReconciled',
    results.reduce((sum, r) => sum + r.streams.reduce((s, x) => s + x.found, 0), 0),
  );
  deps.metrics?.record('ReconcileFailures', failedOrgs.length);
  deps.logger.info('reconciliation finished', {
    orgs: results.length,
    recovered,
    failedOrgs,
  });
  return { orgs: results.length, recovered, failedOrgs, results };
}

/**
 * Reconciles one org; never throws (a failure is the result's `status: 'failed'`). Orgs that
 * are not `active` are skipped: without a working token there is nothing to read, and their
 * watermarks stay put so the window is read once the org is repaired.
 */
async function reconcileOrg(deps: ReconcileDeps, org: Org): Promise<OrgResult> {
  const { orgId } = org;
  if (org.status !== 'active') {
    deps.logger.info('org skipped by the reconciler', { orgId, status: org.status });
    return { orgId, status: 'skipped', reason: `status_${org.status}`, recovered: 0, streams: [] };
  }
  if (org.authMode === 'client_credentials') {
    // an app token cannot list tasks or processes (user-scoped: Tallyfy answers 401)
    deps.logger.info('org skipped by the reconciler: an app token reads no tasks or processes', {
      orgId,
      authMode: org.authMode,
    });
    return {
      orgId,
      status: 'skipped',
      reason: 'auth_mode_client_credentials',
      recovered: 0,
      streams: [],
    };
  }
  const format = webhookDateFormatOf(org.settings);
  const streams: StreamResult[] = [];
  let api: Pick<TallyfyApi, 'listTasks' | 'listRuns'>;
  try {
    api = deps.tallyfyFor(orgId);
  } catch (error) {
    return failedOrg(deps, orgId, [], error);
  }
  // streams one after another: they share the org's Tallyfy rate limit
  for (const stream of RECONCILE_STREAMS) {
    streams.push(await reconcileStream(deps, api, orgId, stream, format));
  }
  const recovered = streams.reduce((sum, s) => sum + s.recovered, 0);
  const failed = streams.some((s) => s.error !== undefined);
  return { orgId, status: failed ? 'failed' : 'reconciled', recovered, streams };
}

async function reconcileStream(
  deps: ReconcileDeps,
  api: Pick<TallyfyApi, 'listTasks' | 'listRuns'>,
  orgId: string,
  stream: ReconcileStream,
  format: WebhookDateFormat,
): Promise<StreamResult> {
  const { options, logger } = deps;
  const now = deps.clock();
  const settleMs = (options.settleSeconds ?? 120) * 1000;
  const untilMs = Math.floor((now - settleMs) / 1000) * 1000;
  const until = new Date(untilMs).toISOString();
  const result: StreamResult = {
    stream,
    from: until,
    until,
    found: 0,
    alreadySeen: 0,
    recovered: 0,
    advanced: false,
  };
  const log = { orgId, stream };
  try {
    const watermark = await deps.registry.getWatermark(orgId, watermarkStreamOf(stream));
    const fromMs =
      watermark === undefined
        ? now - (options.initialLookbackMinutes ?? 1440) * 60_000
        : Date.parse(watermark.value) - options.overlapMinutes * 60_000;
    result.from = new Date(fromMs).toISOString();
    if (fromMs >= untilMs) return result;

    const found = await readStream(api, orgId, stream, fromMs, untilMs);
    result.found = found.length;
    const keyed = found.map((event) => ({
      event,
      keys: eventKeys(event.type, event.subjectId, event.apiTime, format),
    }));
    const missing = await undelivered(deps, keyed);
    result.alreadySeen = found.length - missing.length;

    if (missing.length > 0) {
      const receivedAtMs = deps.clock();
      const envelopes: EventEnvelope[] = missing.map(({ event, keys }) =>
        createEnvelope({
          orgId,
          type: event.type,
          subjectId: event.subjectId,
          occurredAt: keys.occurredAt,
          receivedAtMs,
          origin: 'reconciler',
          data: event.data,
        }),
      );
      const sent = await enqueue(deps.queue, envelopes);
      result.recovered = sent.length;
      if (sent.length > 0) {
        logger.info('lost webhooks recovered', { ...log, eventIds: sent.map((e) => e.id) });
        try {
          await deps.seen.markSeen(
            sent.map((e) => ({ dedupeKey: e.id, orgId, origin: 'reconciler' as const })),
          );
        } catch (error) {
          // the events are queued; without markers the next run may enqueue them once more
          // (the worker drops the repeat) if the worker has not claimed them by then
          logger.warn('seen markers not written for recovered events', { ...log, error });
        }
      }
      if (sent.length < envelopes.length) {
        throw new QueueSendError(
          `${envelopes.length - sent.length} of ${envelopes.length} recovered events were not queued`,
          envelopes.filter((e) => !sent.includes(e)).map((e) => e.id),
        );
      }
    }
    // only now: everything found in the window is in the queue
    const advanced = await deps.registry.advanceWatermark(orgId, watermarkStreamOf(stream), until);
    result.advanced = advanced.advanced;
    return result;
  } catch (error) {
    result.error = {
      code: errorCodeOf(error, RECONCILE_UNEXPECTED),
      message: error instanceof Error ? error.message : String(error),
    };
    logger.error('reconciliation of a stream failed', { ...log, error });
    return result;
  }
}

/** The events with no seen marker and no worker claim under any of their keys. */
async function undelivered<T extends { keys: { candidates: string[] } }>(
  deps: ReconcileDeps,
  keyed: T[],
): Promise<T[]> {
  if (keyed.length === 0) return [];
  const seen = await deps.seen.findSeen(keyed.flatMap((k) => k.keys.candidates));
  const unmarked = keyed.filter((k) => !k.keys.candidates.some((key) => seen.has(key)));
  // a claim without a marker: an event queued before markers existed, or whose marker failed
  const missing: T[] = [];
  for (const item of unmarked) {
    let claimed = false;
    for (const key of item.keys.candidates) {
      if ((await deps.registry.getEvent(key)) !== undefined) {
        claimed = true;
        break;
      }
    }
    if (!claimed) missing.push(item);
  }
  return missing;
}

/** Sends the envelopes; returns those the queue stored (a partial failure is not thrown). */
async function enqueue(queue: EventQueue, envelopes: EventEnvelope[]): Promise<EventEnvelope[]> {
  if (queue.sendBatch !== undefined) {
    try {
      await queue.sendBatch(envelopes);
      return envelopes;
    } catch (error) {
      if (!(error instanceof QueueSendError)) throw error;
      const failed = new Set(error.failedIds);
      return envelopes.filter((e) => !failed.has(e.id));
    }
  }
  const sent: EventEnvelope[] = [];
  for (const envelope of envelopes) {
    try {
      await queue.send(envelope);
      sent.push(envelope);
    } catch (error) {
      if (!(error instanceof QueueSendError)) throw error;
    }
  }
  return sent;
}

/**
 * Lists one stream's events in `[fromMs, untilMs)`. The time filters narrow what Tallyfy sends
 * (dates in ISO 8601, which every date parser reads the same way); the window is also checked
 * here, so a server that ignores a filter costs pages, never correctness.
 */
async function readStream(
  api: Pick<TallyfyApi, 'listTasks' | 'listRuns'>,
  orgId: string,
  stream: ReconcileStream,
  fromMs: number,
  untilMs: number,
): Promise<Found[]> {
  const after = new Date(fromMs).toISOString();
  const before = new Date(untilMs).toISOString();
  const inWindow = (text: string | null | undefined): number | undefined => {
    if (typeof text !== 'string' || text === '') return undefined;
    const ms = tryParseTallyfyDateMs(text);
    return ms !== undefined && ms >= fromMs && ms < untilMs ? ms : undefined;
  };
  const found: Found[] = [];
  if (stream === 'task.completed') {
    const tasks = api.listTasks(orgId, {
      status: 'completed',
      completed_after: after,
      completed_before: before,
      sort: 'completed_at',
    });
    for await (const task of tasks) {
      const atMs = inWindow(task.completed_at);
      if (atMs === undefined || typeof task.completed_at !== 'string') continue;
      const checklistId = (task as Record<string, unknown>).checklist_id;
      found.push({
        type: 'task.completed',
        subjectId: task.id,
        atMs,
        apiTime: task.completed_at,
        // the task-level webhook's shape, with what the task list carries (docs/reconciler.md)
        data: {
          this_task: task,
          process: { id: task.run_id ?? null, organization_id: orgId },
          template: { id: typeof checklistId === 'string' ? checklistId : null },
        },
      });
    }
    return found;
  }
  const launched = stream === 'process.launched';
  const runs = api.listRuns(
    orgId,
    launched
      ? { created_after: after, created_before: before, sort: 'created_at' }
      : {
          status: 'completed',
          completed_after: after,
          completed_before: before,
          sort: 'completed_at',
        },
  );
  for await (const run of runs) {
    const startedAt = (run as Record<string, unknown>).started_at;
    // the same time the receiver keys a process webhook on
    const time = launched
      ? typeof startedAt === 'string' && startedAt !== ''
        ? startedAt
        : run.created_at
      : run.completed_at;
    const atMs = inWindow(time);
    if (atMs === undefined || typeof time !== 'string') continue;
    // the process-level webhook is the run itself
    found.push({ type: stream, subjectId: run.id, atMs, apiTime: time, data: run });
  }
  return found;
}

function failedOrg(
  deps: ReconcileDeps,
  orgId: string,
  streams: StreamResult[],
  error: unknown,
): OrgResult {
  deps.logger.error('reconciliation of an org failed', { orgId, error });
  return { orgId, status: 'failed', reason: 'tallyfy_client', recovered: 0, streams };
}
