import { mapBounded } from '../async.ts';
import { errorCodeOf } from '../error-codes.ts';
import { isRateLimitDeferral, type WaitBudget } from '../tallyfy/index.ts';
import { ReportAggregator } from './aggregator.ts';
import { renderReport } from './document.ts';
import { REPORTS_UNEXPECTED, ReportOrgNotFoundError, ReportSinkError } from './errors.ts';
import type { FlowBuckets } from './flow-series.ts';
import { datedPrefix, latestPrefix } from './keys.ts';
import { periodKeyDay, scheduledPeriod, startOfUtcDay } from './period.ts';
import type {
  EventFigures,
  OrgLister,
  PendingPeriod,
  PendingReports,
  ReportLog,
  ReportMetrics,
  ReportSink,
  ReportSource,
  TaskQuery,
} from './ports.ts';
import { isValidTimeZone } from './timezone.ts';
import type { EventCounts, Period, ReportOrg } from './types.ts';

/** What the reporter needs, as ports (tests pass real local adapters). */
export interface ReportDeps {
  readonly source: ReportSource;
  readonly sink: ReportSink;
  readonly orgs: OrgLister;
  /** Our own webhook figures. @default none: the report says "not available" (`null`). */
  readonly events?: EventFigures | undefined;
  readonly metrics?: ReportMetrics | undefined;
  readonly log?: ReportLog | undefined;
  /** Epoch ms. */
  readonly clock: () => number;
  /** Orgs reported at once. @default 4 */
  readonly concurrency?: number | undefined;
  /** Whole UTC days a scheduled run covers (the days before the schedule fired). @default 1 */
  readonly periodDays?: number | undefined;
  /**
   * Scheduled periods deferred by a rate limit, per org: a scheduled run reports them first.
   * @default none: a deferred period is reported by hand (`report run`)
   */
  readonly pending?: PendingReports | undefined;
  /** Waits out a `Retry-After` that fits the run. @default `sleep` of shared/async.ts */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** How long a run may go on: Lambda's remaining time, less a margin. */
export interface ReportBudget {
  /** Epoch ms by which the run must be done. @default none (local mode, tests) */
  readonly deadlineAt?: number | undefined;
}

/** Deferred periods an org keeps at most; older ones are given up (and logged). */
const MAX_PENDING_PERIODS = 7;

/** A run the handler asks for: every active org on a schedule, or one org on demand. */
export type ReportRequest =
  | { readonly kind: 'scheduled'; readonly firedAtMs: number }
  | { readonly kind: 'on-demand'; readonly orgId: string; readonly period: Period };

export type OrgReportResult =
  | {
      readonly orgId: string;
      readonly ok: true;
      /** The period, when the run reported on more than its own (a deferred one, caught up). */
      readonly period?: { readonly since: string; readonly until: string };
      /** Every key written, dated ones first. */
      readonly keys: readonly string[];
      readonly pagesFetched: number;
      readonly apiCalls: number;
      readonly retries: number;
      readonly durationMs: number;
    }
  | {
      readonly orgId: string;
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly period?: { readonly since: string; readonly until: string };
      /**
       * Stopped cleanly for a rate limit whose `Retry-After` did not fit the run: not a failed
       * report. A scheduled run keeps the period and the next one reports it.
       */
      readonly deferred?: { readonly resumeAfter: string };
    };

export interface ReportRunResult {
  readonly period: { readonly since: string; readonly until: string };
  readonly orgs: readonly OrgReportResult[];
}

/**
 * Task fetches of one report. One pass over the org-wide task list (`GET …/tasks`, 100 a page)
 * costs ⌈tasks/100⌉ calls; per-process task lists would cost one call per process at least.
 */
const TASK_QUERIES: readonly TaskQuery[] = [{}];

/**
 * Runs a report: for a schedule, every active org (at most `concurrency` at once) over the
 * days before the schedule fired; on demand, one org over the period asked. One org's failure
 * is recorded in its result and in metrics and does not stop the others.
 *
 * @example
 * const result = await runReports(deps, { kind: 'scheduled', firedAtMs: Date.parse(event.time) });
 * for (const org of result.orgs) if (!org.ok) log.error('report failed', org);
 */
export async function runReports(
  deps: ReportDeps,
  request: ReportRequest,
  budget: ReportBudget = {},
): Promise<ReportRunResult> {
  const nowMs = deps.clock();
  let orgs: readonly ReportOrg[];
  let period: Period;
  if (request.kind === 'scheduled') {
    period = scheduledPeriod(request.firedAtMs, deps.periodDays ?? 1);
    orgs = await deps.orgs.activeOrgs();
  } else {
    period = request.period;
    const org = await deps.orgs.getOrg(request.orgId);
    if (org === undefined) throw new ReportOrgNotFoundError(request.orgId);
    orgs = [org];
  }
  const waits: WaitBudget = {
    deadlineAt: budget.deadlineAt,
    clock: deps.clock,
    sleep: deps.sleep,
    onWait: (waitMs) => deps.log?.info('waiting as Tallyfy asked', { waitMs }),
  };
  const run = (org: ReportOrg, p: Period) =>
    // `latest/` follows the newest period only: a backfill of an old period must not replace it
    reportOrg(deps, org, p, { writeLatest: p.untilMs >= startOfUtcDay(nowMs), waits });
  const results = await mapBounded(orgs, deps.concurrency ?? 4, async (org) =>
    request.kind === 'scheduled' && deps.pending !== undefined
      ? reportWithPending(deps, deps.pending, org, period, nowMs, run)
      : [await run(org, period)],
  );
  return {
    period: {
      since: new Date(period.sinceMs).toISOString(),
      until: new Date(period.untilMs).toISOString(),
    },
    orgs: results.flat(),
  };
}

/**
 * A scheduled run of one org: its deferred periods whose wait is over first (oldest first),
 * then the current one; the first that is deferred again stops the org, and it and the ones
 * after it stay pending for the next run.
 */
async function reportWithPending(
  deps: ReportDeps,
  pending: PendingReports,
  org: ReportOrg,
  current: Period,
  nowMs: number,
  run: (org: ReportOrg, period: Period) => Promise<OrgReportResult>,
): Promise<OrgReportResult[]> {
  let stored: readonly PendingPeriod[];
  try {
    stored = await pending.get(org.orgId);
  } catch (error) {
    // the current period is still reported; the deferred ones wait for a run that can read them
    deps.log?.error('deferred report periods could not be read', { orgId: org.orgId, error });
    return [await run(org, current)];
  }
  const due = stored.filter((p) => p.resumeAfterMs <= nowMs && p.untilMs !== current.untilMs);
  const waiting = stored.filter((p) => !due.includes(p) && p.untilMs !== current.untilMs);
  const queue: Period[] = [...due, current].sort((a, b) => a.untilMs - b.untilMs);
  const results: OrgReportResult[] = [];
  const left: PendingPeriod[] = [...waiting];
  for (const [index, period] of queue.entries()) {
    const result = await run(org, period);
    const labelled: OrgReportResult =
      period === current
        ? result
        : {
            ...result,
            period: {
              since: new Date(period.sinceMs).toISOString(),
              until: new Date(period.untilMs).toISOString(),
            },
          };
    results.push(labelled);
    if (!result.ok && result.deferred !== undefined) {
      const resumeAfterMs = Date.parse(result.deferred.resumeAfter);
      for (const rest of queue.slice(index)) {
        left.push({ sinceMs: rest.sinceMs, untilMs: rest.untilMs, resumeAfterMs });
      }
      break;
    }
  }
  left.sort((a, b) => a.untilMs - b.untilMs);
  const dropped = left.splice(0, Math.max(0, left.length - MAX_PENDING_PERIODS));
  if (dropped.length > 0) {
    deps.log?.error('deferred report periods given up (too many pending)', {
      orgId: org.orgId,
      periods: dropped.map((p) => new Date(p.untilMs).toISOString()),
    });
  }
  if (left.length > 0 || stored.length > 0) {
    await pending
      .set(org.orgId, left)
      .catch((error: unknown) =>
        deps.log?.error('deferred report periods could not be stored', { orgId: org.orgId, error }),
      );
  }
  return results;
}

/**
 * One org's report: streams processes then tasks into the aggregator, renders the CSV files
 * and `report.json`, writes them under `reports/<orgId>/<day>/` (and `latest/`). Never throws:
 * a failure becomes `{ ok: false, code, message }` and a failed-org metric.
 */
export async function reportOrg(
  deps: ReportDeps,
  org: ReportOrg,
  period: Period,
  options: { writeLatest: boolean; waits?: WaitBudget | undefined },
): Promise<OrgReportResult> {
  const startedAtMs = deps.clock();
  const cost = { pages: 0, apiCalls: 0 };
  const fetch = { waits: options.waits };
  const finish = (ok: boolean, deferred = false): number => {
    const durationMs = deps.clock() - startedAtMs;
    deps.metrics?.orgFinished({
      orgId: org.orgId,
      ok,
      ...(deferred ? { deferred } : {}),
      durationMs,
      apiCalls: cost.apiCalls,
      retries: cost.apiCalls - cost.pages,
      pages: cost.pages,
    });
    return durationMs;
  };
  try {
    const aggregator = new ReportAggregator(period, startedAtMs);
    for await (const page of deps.source.processes(org.orgId, fetch)) {
      cost.pages++;
      cost.apiCalls += page.calls;
      for (const process of page.items) aggregator.addProcess(process);
    }
    for (const query of TASK_QUERIES) {
      for await (const page of deps.source.tasks(org.orgId, query, fetch)) {
        cost.pages++;
        cost.apiCalls += page.calls;
        for (const task of page.items) aggregator.addTask(task);
      }
    }
    const events = await eventCounts(deps, org.orgId, period);
    const flow = await eventFlow(deps, org.orgId, period);
    const durationMs = deps.clock() - startedAtMs;
    const timezone =
      org.timezone !== undefined && isValidTimeZone(org.timezone) ? org.timezone : null;
    const { files } = renderReport({
      org,
      timezone,
      period,
      figures: aggregator.figures(),
      events,
      flow,
      run: {
        generatedAtMs: startedAtMs,
        pagesFetched: cost.pages,
        apiCalls: cost.apiCalls,
        retries: cost.apiCalls - cost.pages,
        durationMs,
      },
    });
    const prefixes = [datedPrefix(org.orgId, periodKeyDay(period))];
    if (options.writeLatest) prefixes.push(latestPrefix(org.orgId));
    const keys: string[] = [];
    for (const prefix of prefixes) keys.push(...(await writeFiles(deps.sink, prefix, files)));
    finish(true);
    deps.log?.info('report written', {
      orgId: org.orgId,
      pages: cost.pages,
      apiCalls: cost.apiCalls,
      durationMs,
    });
    return {
      orgId: org.orgId,
      ok: true,
      keys,
      pagesFetched: cost.pages,
      apiCalls: cost.apiCalls,
      retries: cost.apiCalls - cost.pages,
      durationMs,
    };
  } catch (error) {
    const code = errorCodeOf(error, REPORTS_UNEXPECTED);
    const message = error instanceof Error ? error.message : String(error);
    if (isRateLimitDeferral(error)) {
      // Tallyfy asked for longer than the run has left: stop cleanly, resume on the next run
      finish(false, true);
      const resumeAfter = new Date(deps.clock() + error.retryAfterMs).toISOString();
      deps.log?.info('report deferred: Tallyfy asked to wait', { orgId: org.orgId, resumeAfter });
      return { orgId: org.orgId, ok: false, code, message, deferred: { resumeAfter } };
    }
    finish(false);
    deps.log?.error('report failed', { orgId: org.orgId, code, error });
    return { orgId: org.orgId, ok: false, code, message };
  }
}

async function eventCounts(
  deps: ReportDeps,
  orgId: string,
  period: Period,
): Promise<EventCounts | null> {
  if (deps.events === undefined) return null;
  try {
    return await deps.events.counts(orgId, period);
  } catch (error) {
    // the Tallyfy figures are still worth writing; the event figures then say "not available"
    deps.log?.error('event figures unavailable', {
      orgId,
      code: errorCodeOf(error, REPORTS_UNEXPECTED),
      error,
    });
    return null;
  }
}

async function eventFlow(
  deps: ReportDeps,
  orgId: string,
  period: Period,
): Promise<FlowBuckets | null> {
  if (deps.events?.flow === undefined) return null;
  try {
    return await deps.events.flow(orgId, period);
  } catch (error) {
    // the chart then says "not available"; the rest of the report is still worth writing
    deps.log?.error('event flow unavailable', {
      orgId,
      code: errorCodeOf(error, REPORTS_UNEXPECTED),
      error,
    });
    return null;
  }
}

/** CSVs and report.html first, `report.json` last: its presence means the folder is complete. */
async function writeFiles(
  sink: ReportSink,
  prefix: string,
  files: ReadonlyMap<string, { body: string; contentType: string }>,
): Promise<string[]> {
  const put = async (name: string, file: { body: string; contentType: string }) => {
    const key = `${prefix}${name}`;
    try {
      await sink.put(key, file.body, file.contentType);
    } catch (error) {
      throw error instanceof ReportSinkError ? error : new ReportSinkError(key, { cause: error });
    }
    return key;
  };
  const entries = [...files.entries()];
  const keys = await Promise.all(
    entries.filter(([name]) => name !== 'report.json').map(([name, file]) => put(name, file)),
  );
  const json = files.get('report.json');
  if (json !== undefined) keys.push(await put('report.json', json));
  return keys;
}
