/**
 * The reconciler's use case. Tallyfy sends each webhook once and never retries, and a queued
 * event can still be lost on our side (queue data lost, retention expired, a bug). Per org it
 * reads what the API says happened and, for each event:
 * - no seen marker and no worker claim: a lost webhook → enqueued (`EventsRecovered`);
 * - seen or claimed, but no outcome (`done` / `failed`) after a grace period: lost work →
 *   enqueued again under the same key (`EventsRescued`; the worker's claims keep it to one run);
 * - seen and still within the grace period: pending; the watermark waits for it;
 * - processed or dead-lettered: settled.
 * Enqueued envelopes carry the payload the webhook would have carried (run, tasks, template read
 * from the API), so a rule behaves the same on both. See docs/reconciler.md.
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
import {
  isRateLimitDeferral,
  type Paginated,
  pagesWithRateLimitWaits,
  type TallyfyApi,
  type TallyfyPage,
  type TallyfyRun,
  type TallyfyTask,
  tryParseTallyfyDateMs,
  type WaitBudget,
} from '../tallyfy/index.ts';
import { RECONCILE_UNEXPECTED, ReconcileOrgNotFoundError } from './errors.ts';
import { type EventKeys, eventKeys, type WebhookDateFormat, webhookDateFormatOf } from './keys.ts';
import { processPayload, taskCompletedPayload } from './payloads.ts';
import { createRunViews, type RunViewApi, type RunViews } from './run-views.ts';
import type { EventTrace, SeenEvents, SeenMark } from './seen.ts';

/** The event kinds the reconciler recovers, one watermark each. */
export const RECONCILE_STREAMS = [
  'task.completed',
  'process.launched',
  'process.completed',
] as const;
export type ReconcileStream = (typeof RECONCILE_STREAMS)[number];

/** The watermark stream name of a reconciler stream (`reconciler.task.completed`…). */
export const watermarkStreamOf = (stream: ReconcileStream): string => `reconciler.${stream}`;

/** The run cursor's part name: a scheduled run starts after the org the last one reached. */
export const RECONCILER_CURSOR = 'reconciler';

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
  /**
   * How long a queued event may go without a processed or dead-lettered outcome before it is
   * enqueued again (RECONCILER_RESCUE_GRACE_MINUTES): longer than the worker's retries take.
   * @default 60
   */
  rescueGraceMinutes?: number;
  /** Rescues of one event before the reconciler stops (and logs it as stuck). @default 3 */
  maxRescues?: number;
}

/** The metrics a run records. */
export interface ReconcilerMetrics {
  record(
    name: 'EventsRecovered' | 'EventsRescued' | 'EventsReconciled' | 'ReconcileFailures',
    value?: number,
  ): unknown;
}

/** What a recovered payload and the three streams read from Tallyfy. */
export type ReconcileApi = Pick<TallyfyApi, 'listTasks' | 'listRuns'> & RunViewApi;

/** Ports of {@link reconcile}. */
export interface ReconcileDeps {
  registry: Pick<
    OrgRegistry,
    'getOrg' | 'listOrgs' | 'getWatermark' | 'advanceWatermark' | 'getRunCursor' | 'setRunCursor'
  >;
  seen: SeenEvents;
  /** The events queue; `sendBatch` is used when the adapter has it. */
  queue: EventQueue;
  /** A Tallyfy API client authenticated for the org (the token provider's `forOrg`). */
  tallyfyFor: (orgId: string) => ReconcileApi;
  /** Epoch ms. */
  clock: () => number;
  /** Waits out a `Retry-After`. @default `sleep` of shared/async.ts */
  sleep?: (ms: number) => Promise<void>;
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
  /** Of those, delivered before (seen marker or worker claim), whatever came of them. */
  alreadySeen: number;
  /** Of those, enqueued now: the lost webhooks. */
  recovered: number;
  /** Of those, seen but without an outcome after the grace period: enqueued again now. */
  rescued: number;
  /** Of those, seen, no outcome yet, within the grace period: the watermark waits for them. */
  pending: number;
  /** Of those, rescued `maxRescues` times already and still without an outcome (logged). */
  stuck: number;
  /** Whether the watermark moved (to `until`, or to the oldest pending event). */
  advanced: boolean;
  error?: { code: string; message: string };
}

export interface OrgResult {
  orgId: string;
  /**
   * `deferred`: stopped cleanly, to resume on the next run (Tallyfy asked for a longer wait
   * than the run had left, or the run's time budget ran out); its watermarks hold.
   */
  status: 'reconciled' | 'skipped' | 'failed' | 'deferred';
  /** Why an org was skipped or deferred (`status_needs_reauth`, `rate_limited`, `time_budget`). */
  reason?: string;
  /** Deferred by a rate limit: when Tallyfy said it may be asked again (ISO). */
  resumeAfter?: string;
  recovered: number;
  rescued: number;
  streams: StreamResult[];
}

export interface ReconcileResult {
  /** Orgs this run reached. */
  orgs: number;
  /** Active orgs left for the next run, which starts after the last one reached. */
  notReached: number;
  recovered: number;
  rescued: number;
  failedOrgs: string[];
  deferredOrgs: string[];
  results: OrgResult[];
}

/** How long a run may go on: Lambda's remaining time, less a margin. */
export interface RunBudget {
  /** Epoch ms by which the run must be done. @default none (local mode, tests) */
  deadlineAt?: number | undefined;
}

/** One event as read from the API, before keying. */
interface Found {
  type: EventType;
  subjectId: string;
  /** Epoch ms of the event (the API's time). */
  atMs: number;
  apiTime: string;
  /** The API's task or run, rebuilt into the webhook's payload before it is enqueued. */
  item: { task: TallyfyTask } | { run: TallyfyRun };
}

/** No new org is started with less than this left before the deadline. */
const ORG_START_MARGIN_MS = 5_000;

/** The run's time budget ran out inside an org: stop it cleanly, its watermarks hold. */
class BudgetSpent extends Error {}

/**
 * Reconciles the active orgs (bounded concurrency, one org's failure recorded while the others
 * go on), or only `request.orgId`. A scheduled run starts after the org the previous one reached
 * (the run cursor) and starts no org once its budget is spent, so every org is reached over
 * successive runs however many there are.
 *
 * @throws ReconcileOrgNotFoundError when `request.orgId` is not registered
 * @example
 * const result = await reconcile(deps, {}, { deadlineAt: Date.now() + context.getRemainingTimeInMillis() - 15_000 });
 * result.recovered; // lost webhooks found and enqueued by this run
 */
export async function reconcile(
  deps: ReconcileDeps,
  request: { orgId?: string | undefined } = {},
  budget: RunBudget = {},
): Promise<ReconcileResult> {
  const concurrency = deps.options.concurrency ?? 4;
  let orgs: Org[];
  if (request.orgId !== undefined) {
    const org = await deps.registry.getOrg(request.orgId);
    if (org === undefined) throw new ReconcileOrgNotFoundError(request.orgId);
    orgs = [org];
  } else {
    const all: Org[] = [];
    for await (const org of deps.registry.listOrgs({ status: 'active' })) all.push(org);
    all.sort((a, b) => (a.orgId < b.orgId ? -1 : a.orgId > b.orgId ? 1 : 0));
    const cursor = await deps.registry.getRunCursor(RECONCILER_CURSOR);
    const start = cursor === undefined ? 0 : all.findIndex((org) => org.orgId > cursor);
    orgs = start <= 0 ? all : [...all.slice(start), ...all.slice(0, start)];
  }

  let lastStarted: string | undefined;
  const reached = await mapBounded(orgs, concurrency, async (org) => {
    if (
      budget.deadlineAt !== undefined &&
      deps.clock() >= budget.deadlineAt - ORG_START_MARGIN_MS
    ) {
      return undefined;
    }
    lastStarted = org.orgId; // lanes pull in order: the latest pulled is the furthest reached
    return reconcileOrg(deps, org, budget);
  });
  const results = reached.filter((r): r is OrgResult => r !== undefined);
  if (request.orgId === undefined && lastStarted !== undefined) {
    await deps.registry.setRunCursor(RECONCILER_CURSOR, lastStarted).catch((error: unknown) =>
      // the next run starts from the previous cursor: some orgs are read twice, none skipped
      deps.logger.warn('the reconciler run cursor was not saved', { error }),
    );
  }
  results.sort((a, b) => a.orgId.localeCompare(b.orgId));
  const recovered = results.reduce((sum, r) => sum + r.recovered, 0);
  const rescued = results.reduce((sum, r) => sum + r.rescued, 0);
  const failedOrgs = results.filter((r) => r.status === 'failed').map((r) => r.orgId);
  const deferredOrgs = results.filter((r) => r.status === 'deferred').map((r) => r.orgId);
  const notReached = orgs.length - results.length;
  deps.metrics?.record('EventsRecovered', recovered);
  deps.metrics?.record('EventsRescued', rescued);
  deps.metrics?.record(
    'EventsReconciled',
    results.reduce((sum, r) => sum + r.streams.reduce((s, x) => s + x.found, 0), 0),
  );
  deps.metrics?.record('ReconcileFailures', failedOrgs.length);
  deps.logger.info('reconciliation finished', {
    orgs: results.length,
    notReached,
    recovered,
    rescued,
    failedOrgs,
    deferredOrgs,
  });
  return {
    orgs: results.length,
    notReached,
    recovered,
    rescued,
    failedOrgs,
    deferredOrgs,
    results,
  };
}

/**
 * Reconciles one org; never throws (a failure is the result's `status: 'failed'`). Orgs that
 * are not `active` are skipped: without a working token there is nothing to read, and their
 * watermarks stay put so the window is read once the org is repaired.
 */
async function reconcileOrg(deps: ReconcileDeps, org: Org, run: RunBudget): Promise<OrgResult> {
  const { orgId } = org;
  const empty = { recovered: 0, rescued: 0, streams: [] as StreamResult[] };
  if (org.status !== 'active') {
    deps.logger.info('org skipped by the reconciler', { orgId, status: org.status });
    return { orgId, status: 'skipped', reason: `status_${org.status}`, ...empty };
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
      ...empty,
    };
  }
  const format = webhookDateFormatOf(org.settings);
  const streams: StreamResult[] = [];
  let api: ReconcileApi;
  try {
    api = deps.tallyfyFor(orgId);
  } catch (error) {
    deps.logger.error('reconciliation of an org failed', { orgId, error });
    return { orgId, status: 'failed', reason: 'tallyfy_client', ...empty };
  }
  const budget: WaitBudget = {
    deadlineAt: run.deadlineAt,
    clock: deps.clock,
    sleep: deps.sleep,
    onWait: (waitMs) => deps.logger.info('waiting as Tallyfy asked', { orgId, waitMs }),
  };
  const views = createRunViews({ api, orgId, format, budget, logger: deps.logger });
  let deferred: { reason: string; resumeAfter?: string } | undefined;
  // streams one after another: they share the org's Tallyfy rate limit
  for (const stream of RECONCILE_STREAMS) {
    if (run.deadlineAt !== undefined && deps.clock() >= run.deadlineAt) {
      deferred = { reason: 'time_budget' };
      break;
    }
    const outcome = await reconcileStream(deps, { api, views, budget }, orgId, stream, format);
    streams.push(outcome.result);
    if (outcome.deferred) {
      deferred = outcome.deferred;
      break; // the rest of the org waits for the next run
    }
  }
  const recovered = streams.reduce((sum, s) => sum + s.recovered, 0);
  const rescued = streams.reduce((sum, s) => sum + s.rescued, 0);
  const failed = streams.some((s) => s.error !== undefined && deferred === undefined);
  if (deferred !== undefined) {
    deps.logger.info('org deferred to the next reconciler run', { orgId, ...deferred });
    return { orgId, status: 'deferred', ...deferred, recovered, rescued, streams };
  }
  return { orgId, status: failed ? 'failed' : 'reconciled', recovered, rescued, streams };
}

interface StreamPorts {
  api: ReconcileApi;
  views: RunViews;
  budget: WaitBudget;
}

/** An event found in the window, keyed, with what the table knows of it. */
interface Keyed {
  event: Found;
  keys: EventKeys;
}

async function reconcileStream(
  deps: ReconcileDeps,
  ports: StreamPorts,
  orgId: string,
  stream: ReconcileStream,
  format: WebhookDateFormat,
): Promise<{ result: StreamResult; deferred?: { reason: string; resumeAfter?: string } }> {
  const { options, logger } = deps;
  const now = deps.clock();
  const settleMs = (options.settleSeconds ?? 120) * 1000;
  const graceMs = (options.rescueGraceMinutes ?? 60) * 60_000;
  const maxRescues = options.maxRescues ?? 3;
  const untilMs = Math.floor((now - settleMs) / 1000) * 1000;
  const until = new Date(untilMs).toISOString();
  const result: StreamResult = {
    stream,
    from: until,
    until,
    found: 0,
    alreadySeen: 0,
    recovered: 0,
    rescued: 0,
    pending: 0,
    stuck: 0,
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
    if (fromMs >= untilMs) return { result };

    const found = await readStream(ports, orgId, stream, fromMs, untilMs);
    result.found = found.length;
    const keyed: Keyed[] = found.map((event) => ({
      event,
      keys: eventKeys(event.type, event.subjectId, event.apiTime, format),
    }));
    const traces =
      keyed.length === 0
        ? new Map()
        : await deps.seen.trace(keyed.flatMap((k) => k.keys.candidates));

    const lost: Keyed[] = [];
    const rescue: Array<Keyed & { key: string; rescues: number }> = [];
    let holdMs = untilMs;
    for (const item of keyed) {
      const known = item.keys.candidates
        .map((key) => ({ key, trace: traces.get(key) as EventTrace | undefined }))
        .filter((k): k is { key: string; trace: EventTrace } => k.trace !== undefined);
      if (known.length === 0) {
        lost.push(item);
        continue;
      }
      // an outcome under any key settles it: processed, or dead-lettered (a replay's business)
      if (
        known.some((k) => k.trace.claim?.status === 'done' || k.trace.claim?.status === 'failed')
      ) {
        continue;
      }
      // seen or claimed, no outcome: lost work once the grace period has passed without a sign of life
      const { key, trace } =
        known.find((k) => k.trace.marker !== undefined) ?? (known[0] as (typeof known)[number]);
      const lastSign = Math.max(
        ...known
          .flatMap((k) => [k.trace.marker?.seenAt, k.trace.claim?.updatedAt])
          .map((at) => (at === undefined ? Number.NaN : Date.parse(at)))
          .filter(Number.isFinite),
      );
      const rescues = trace.marker?.rescues ?? 0;
      if (Number.isFinite(lastSign) && now - lastSign < graceMs) {
        result.pending++;
        holdMs = Math.min(holdMs, item.event.atMs);
      } else if (rescues >= maxRescues) {
        result.stuck++;
        logger.error('event without an outcome after its rescues: not enqueued again', {
          ...log,
          eventId: key,
          rescues,
        });
      } else {
        rescue.push({ ...item, key, rescues });
        // watched until it has an outcome: a rescued copy can be lost too
        holdMs = Math.min(holdMs, item.event.atMs);
      }
    }
    result.alreadySeen = found.length - lost.length;

    const receivedAtMs = deps.clock();
    const envelopes: Array<{ envelope: EventEnvelope; mark: SeenMark; rescued: boolean }> = [];
    const plans: Array<{ item: Keyed; key: string; rescues?: number }> = [
      ...lost.map((item) => ({ item, key: item.keys.primary })),
      ...rescue.map(({ key, rescues, ...item }) => ({ item, key, rescues })),
    ];
    for (const { item, key, rescues } of plans) {
      const occurredAt = item.keys.timeOf.get(key) ?? item.keys.occurredAt;
      const envelope = createEnvelope({
        orgId,
        type: item.event.type,
        subjectId: item.event.subjectId,
        occurredAt,
        receivedAtMs,
        origin: 'reconciler',
        data: await payloadOf(ports.views, item.event),
      });
      const rescued = rescues !== undefined;
      envelopes.push({
        envelope,
        rescued,
        mark: {
          dedupeKey: envelope.id,
          orgId,
          origin: 'reconciler',
          ...(rescued ? { rescues: rescues + 1 } : {}),
        },
      });
    }
    if (envelopes.length > 0) {
      const sent = new Set(
        (
          await enqueue(
            deps.queue,
            envelopes.map((e) => e.envelope),
          )
        ).map((e) => e.id),
      );
      const stored = envelopes.filter((e) => sent.has(e.envelope.id));
      result.recovered = stored.filter((e) => !e.rescued).length;
      result.rescued = stored.filter((e) => e.rescued).length;
      if (result.recovered > 0) {
        logger.info('lost webhooks recovered', {
          ...log,
          eventIds: stored.filter((e) => !e.rescued).map((e) => e.envelope.id),
        });
      }
      if (result.rescued > 0) {
        logger.warn('events without an outcome enqueued again (rescued)', {
          ...log,
          eventIds: stored.filter((e) => e.rescued).map((e) => e.envelope.id),
        });
      }
      try {
        await deps.seen.markSeen(stored.map((e) => e.mark));
      } catch (error) {
        // the events are queued; without markers the next run may enqueue them once more
        // (the worker drops the repeat) if the worker has not claimed them by then
        logger.warn('seen markers not written for enqueued events', { ...log, error });
      }
      if (stored.length < envelopes.length) {
        throw new QueueSendError(
          `${envelopes.length - stored.length} of ${envelopes.length} events were not queued`,
          envelopes.filter((e) => !sent.has(e.envelope.id)).map((e) => e.envelope.id),
        );
      }
    }
    // only now: everything found is in the queue or settled; pending events hold it back
    const to = Math.floor(holdMs / 1000) * 1000;
    if (to > fromMs) {
      const advanced = await deps.registry.advanceWatermark(
        orgId,
        watermarkStreamOf(stream),
        new Date(to).toISOString(),
      );
      result.advanced = advanced.advanced;
    }
    return { result };
  } catch (error) {
    result.error = {
      code: errorCodeOf(error, RECONCILE_UNEXPECTED),
      message: error instanceof Error ? error.message : String(error),
    };
    if (isRateLimitDeferral(error)) {
      const resumeAfter = new Date(deps.clock() + error.retryAfterMs).toISOString();
      return { result, deferred: { reason: 'rate_limited', resumeAfter } };
    }
    if (error instanceof BudgetSpent) return { result, deferred: { reason: 'time_budget' } };
    logger.error('reconciliation of a stream failed', { ...log, error });
    return { result };
  }
}

/** The payload the webhook would have carried, rebuilt from the API. */
async function payloadOf(views: RunViews, event: Found): Promise<unknown> {
  if ('task' in event.item) {
    const { task } = event.item;
    const runId = typeof task.run_id === 'string' && task.run_id !== '' ? task.run_id : undefined;
    const view = runId === undefined ? undefined : await views.forRun(runId);
    // a run deleted since: the task as the API lists it, which rules read through `task.*`
    return view === undefined ? task : taskCompletedPayload(view, task);
  }
  const view = await views.forRun(event.item.run.id, event.item.run);
  return view === undefined ? event.item.run : processPayload(view);
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

/** The items of a list, page by page within the run's budget (rate-limit waits, deadline). */
async function* within<T>(list: Paginated<T>, budget: WaitBudget): AsyncGenerator<T> {
  const pages: AsyncGenerator<TallyfyPage<T>> = pagesWithRateLimitWaits(
    (start) => list.pages(start),
    budget,
  );
  for await (const page of pages) {
    yield* page.data;
    if (budget.deadlineAt !== undefined && budget.clock() >= budget.deadlineAt) {
      throw new BudgetSpent('the reconciler run spent its time budget');
    }
  }
}

/**
 * Lists one stream's events in `[fromMs, untilMs)`. The time filters narrow what Tallyfy sends
 * (dates in ISO 8601, which every date parser reads the same way); the window is also checked
 * here, so a server that ignores a filter costs pages, never correctness.
 */
async function readStream(
  ports: StreamPorts,
  orgId: string,
  stream: ReconcileStream,
  fromMs: number,
  untilMs: number,
): Promise<Found[]> {
  const { api, budget } = ports;
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
    for await (const task of within(tasks, budget)) {
      const atMs = inWindow(task.completed_at);
      if (atMs === undefined || typeof task.completed_at !== 'string') continue;
      found.push({
        type: 'task.completed',
        subjectId: task.id,
        atMs,
        apiTime: task.completed_at,
        item: { task },
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
  for await (const run of within(runs, budget)) {
    const startedAt = (run as Record<string, unknown>).started_at;
    // the same time the receiver keys a process webhook on
    const time = launched
      ? typeof startedAt === 'string' && startedAt !== ''
        ? startedAt
        : run.created_at
      : run.completed_at;
    const atMs = inWindow(time);
    if (atMs === undefined || typeof time !== 'string') continue;
    found.push({ type: stream, subjectId: run.id, atMs, apiTime: time, item: { run } });
  }
  return found;
}
