/**
 * The token refresher's use case, whatever invokes it (an EventBridge schedule, a worker's
 * on-demand request, the CLI, local mode's timer): parse the event, run the scheduled pass
 * within the invocation's time budget or refresh one org, record the outcome metrics. The
 * Lambda handler is an adapter over {@link runTokenRefresher}.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { MetricName } from '../observability/index.ts';
import type { OrgRegistry } from '../orgs/index.ts';
import {
  type RefreshDeps,
  type RefreshRegistry,
  type RefreshResult,
  refreshOrg,
} from './refresh.ts';
import {
  type DueOrgsQuery,
  type RefreshDueOptions,
  type RefreshDueSummary,
  refreshDueOrgs,
} from './refresh-due.ts';
import { refreshRequestSchema } from './refresh-requests.ts';

/** What the refresher needs: the use cases' ports (all but the per-invocation lease owner). */
export interface TokenRefresherDeps extends Omit<RefreshDeps, 'owner' | 'registry'> {
  registry: RefreshRegistry & DueOrgsQuery & Pick<OrgRegistry, 'countOrgs'>;
  /** Metrics recorder (`TallyfyMetrics`); flushed by `flushMetrics` after each invocation. */
  metrics?: { record(name: MetricName, value?: number): unknown };
  flushMetrics?: () => void;
  /** Orgs refreshed at once in a scheduled run (REFRESH_CONCURRENCY). */
  concurrency: number;
  /** Random delay before each lane starts. @default {@link refreshDueOrgs}' default */
  startJitterMs?: RefreshDueOptions['startJitterMs'];
  /**
   * A scheduled run stops taking new orgs when less than this is left of the invocation, so
   * refreshes in flight finish before the timeout (a timeout mid-refresh is a crash). @default 30000
   */
  reserveMs?: number;
}

/** What the runtime tells about this invocation (Lambda's context; local mode may give none). */
export interface RefresherInvocation {
  /** Lease owner of this invocation (Lambda's request id). @default a random UUID */
  owner?: string | undefined;
  /** Time left before the invocation is killed; without it {@link refreshDueOrgs}' budget holds. */
  remainingMs?: number | undefined;
}

/** A scheduled event: EventBridge rule or Scheduler (`aws.events`/`aws.scheduler`), or `{}`. */
const scheduledSchema = z.lazy(() =>
  z.union([
    z.looseObject({ source: z.enum(['aws.events', 'aws.scheduler']) }),
    z.looseObject({ 'detail-type': z.literal('Scheduled Event') }),
    z.strictObject({}),
  ]),
);

export type TokenRefresherResult =
  | {
      kind: 'scheduled';
      due: number;
      outcomes: RefreshDueSummary['outcomes'];
      /** Orgs this run newly marked `needs_reauth`. */
      needsReauth: number;
      /** Every org in `needs_reauth` after this run (the gauge); absent when it could not be read. */
      orgsNeedingReauth?: number | undefined;
      deferred: number;
      itemsRead: number;
      secondsToSoonestExpiry?: number | undefined;
      durationMs: number;
      /** Orgs that did not end `refreshed`/`recovered`/`fresh`/`busy`, for the operator. */
      problems: RefreshResult[];
    }
  | { kind: 'on-demand'; result: RefreshResult }
  | { kind: 'rejected'; error: { code: 'TOKENS_REFRESH_EVENT_INVALID'; message: string } };

const DEFAULT_RESERVE_MS = 30_000;

/**
 * Runs one invocation of the token refresher: `{orgId, force?, reason?}` refreshes one org
 * ({@link refreshOrg}, single-flighted with the scheduled runs by the org's lease); a scheduled
 * event refreshes every due org ({@link refreshDueOrgs}) and emits the heartbeat
 * (`RefreshRuns`) and the `needs_reauth` gauge (`OrgsNeedingReauth`). Never throws for a
 * refresh failure (they are recorded on the org): an asynchronous invoke is not retried
 * pointlessly. An event of neither shape is answered `rejected` with what was expected.
 *
 * @example
 * const result = await runTokenRefresher(deps, { orgId: 'org5f4e3d2c1b0a', force: true });
 */
export async function runTokenRefresher(
  deps: TokenRefresherDeps,
  event: unknown,
  invocation: RefresherInvocation = {},
): Promise<TokenRefresherResult> {
  const { logger, metrics } = deps;
  const record = (name: MetricName, value: number) => metrics?.record(name, value);
  const run = { ...deps, owner: invocation.owner ?? randomUUID() };
  try {
    const demand = refreshRequestSchema.safeParse(event);
    if (demand.success) {
      const { orgId, force, reason, rejectedTokenObtainedAt } = demand.data;
      const started = deps.clock();
      const result = await refreshOrg(run, orgId, {
        force: force === true,
        ...(rejectedTokenObtainedAt === undefined ? {} : { rejectedTokenObtainedAt }),
      });
      record('TokenRefreshDuration', deps.clock() - started);
      countOutcomes(record, [result]);
      logger.info('on-demand refresh done', {
        orgId,
        reason,
        force,
        proven: rejectedTokenObtainedAt !== undefined,
        outcome: result.outcome,
      });
      return { kind: 'on-demand', result };
    }
    if (!scheduledSchema.safeParse(event).success) {
      const message =
        'expected a scheduled event or {orgId, force?, reason?} with an org id of A-Z a-z 0-9 _ -';
      logger.error('refresher event rejected', {
        code: 'TOKENS_REFRESH_EVENT_INVALID',
        issues: describeIssues(demand.error),
      });
      return { kind: 'rejected', error: { code: 'TOKENS_REFRESH_EVENT_INVALID', message } };
    }
    // the heartbeat: one per scheduled run, whatever happens next
    record('RefreshRuns', 1);
    const summary = await refreshDueOrgs(run, {
      concurrency: deps.concurrency,
      ...(deps.startJitterMs === undefined ? {} : { startJitterMs: deps.startJitterMs }),
      ...(invocation.remainingMs === undefined
        ? {}
        : {
            budgetMs: Math.max(0, invocation.remainingMs - (deps.reserveMs ?? DEFAULT_RESERVE_MS)),
          }),
    });
    record('OrgsDue', summary.due);
    record('TokenRefreshDuration', summary.durationMs);
    countOutcomes(record, summary.results);
    if (summary.secondsToSoonestExpiry !== undefined) {
      record('SoonestTokenExpiry', summary.secondsToSoonestExpiry);
    }
    const orgsNeedingReauth = await countNeedingReauth(deps);
    if (orgsNeedingReauth !== undefined) record('OrgsNeedingReauth', orgsNeedingReauth);
    const { results, ...figures } = summary;
    logger.info('scheduled refresh run done', { ...figures, orgsNeedingReauth });
    return {
      kind: 'scheduled',
      ...figures,
      orgsNeedingReauth,
      problems: results.filter(
        (r) => r.outcome === 'failed' || r.outcome === 'error' || r.outcome === 'skipped',
      ),
    };
  } finally {
    deps.flushMetrics?.();
  }
}

/**
 * The gauge behind the needs-reauth alarm: every org in `needs_reauth` now, not only those
 * this run marked, so the alarm holds until the last one has new credentials. A failed count
 * is logged and leaves the gauge out of this run (the heartbeat still shows the run happened).
 */
async function countNeedingReauth(deps: TokenRefresherDeps): Promise<number | undefined> {
  try {
    return await deps.registry.countOrgs({ status: 'needs_reauth' });
  } catch (error) {
    deps.logger.error('orgs needing reauth not counted', {
      error: error instanceof Error ? error.name : String(error),
    });
    return undefined;
  }
}

function countOutcomes(
  record: (name: MetricName, value: number) => void,
  results: RefreshResult[],
) {
  let refreshed = 0;
  let failed = 0;
  let contended = 0;
  for (const r of results) {
    if (r.outcome === 'refreshed' || r.outcome === 'recovered') refreshed += 1;
    if (r.outcome === 'failed' || r.outcome === 'error') failed += 1;
    if (r.outcome === 'busy') contended += 1;
  }
  record('TokenRefreshSucceeded', refreshed);
  record('TokenRefreshFailed', failed);
  record('LeaseContended', contended);
}

/** Paths and check codes of the failed on-demand parse: never the values. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
    .join('; ');
}
