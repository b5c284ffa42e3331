import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { MetricName } from '../../shared/observability/index.ts';
import {
  type DueOrgsQuery,
  type RefreshDeps,
  type RefreshDueSummary,
  type RefreshRegistry,
  type RefreshResult,
  refreshDueOrgs,
  refreshOrg,
  refreshRequestSchema,
} from '../../shared/tokens/index.ts';

/** What the handler needs: the use cases' ports (all but the per-invocation lease owner). */
export interface TokenRefresherDeps extends Omit<RefreshDeps, 'owner' | 'registry'> {
  registry: RefreshRegistry & DueOrgsQuery;
  /** Metrics recorder (`TallyfyMetrics`); flushed by `flushMetrics` after each invocation. */
  metrics?: { record(name: MetricName, value?: number): unknown };
  flushMetrics?: () => void;
  /** Orgs refreshed at once in a scheduled run (REFRESH_CONCURRENCY). @default 8 */
  concurrency?: number;
  /** Random delay before each lane starts. @default 250 */
  startJitterMs?: number;
  /**
   * A scheduled run stops taking new orgs when less than this is left of the invocation, so
   * refreshes in flight finish before the timeout (a timeout mid-refresh is a crash). @default 30000
   */
  reserveMs?: number;
  /** Without a Lambda context: the scheduled run's time budget. @default 240000 */
  defaultBudgetMs?: number;
}

/** The Lambda context fields the handler reads (local mode may pass none). */
export interface RefresherContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

/** A scheduled event: EventBridge rule or Scheduler (`aws.events`/`aws.scheduler`), or `{}`. */
const scheduledSchema = z.union([
  z.looseObject({ source: z.enum(['aws.events', 'aws.scheduler']) }),
  z.looseObject({ 'detail-type': z.literal('Scheduled Event') }),
  z.strictObject({}),
]);

export type TokenRefresherResult =
  | {
      kind: 'scheduled';
      due: number;
      outcomes: RefreshDueSummary['outcomes'];
      needsReauth: number;
      deferred: number;
      itemsRead: number;
      secondsToSoonestExpiry?: number | undefined;
      durationMs: number;
      /** Orgs that did not end `refreshed`/`recovered`/`fresh`/`busy`, for the operator. */
      problems: RefreshResult[];
    }
  | { kind: 'on-demand'; result: RefreshResult }
  | { kind: 'rejected'; error: { code: 'invalid_event'; message: string } };

/**
 * The token refresher's handler: a scheduled event refreshes every due org
 * ({@link refreshDueOrgs}); `{orgId, force?, reason?}` refreshes one ({@link refreshOrg}),
 * single-flighted with the scheduled runs by the org's lease. Never throws for a refresh
 * failure (they are recorded on the org): an asynchronous invoke is not retried pointlessly.
 *
 * @example
 * const handler = createTokenRefresherHandler({ registry, secrets: store, grants, policy, clock: Date.now, random: Math.random, logger });
 * await handler({ orgId: 'org5f4e3d2c1b0a', force: true });
 */
export function createTokenRefresherHandler(
  deps: TokenRefresherDeps,
): (event: unknown, context?: RefresherContext) => Promise<TokenRefresherResult> {
  const { logger, metrics } = deps;
  const record = (name: MetricName, value: number) => metrics?.record(name, value);
  return async (event, context) => {
    const owner = context?.awsRequestId ?? randomUUID();
    const run: RefreshDeps & { registry: TokenRefresherDeps['registry'] } = { ...deps, owner };
    try {
      const demand = refreshRequestSchema.safeParse(event);
      if (demand.success) {
        const { orgId, force, reason } = demand.data;
        const started = deps.clock();
        const result = await refreshOrg(run, orgId, { force: force === true });
        record('TokenRefreshDuration', deps.clock() - started);
        countOutcomes(record, [result]);
        logger.info('on-demand refresh done', { orgId, reason, force, outcome: result.outcome });
        return { kind: 'on-demand', result };
      }
      if (!scheduledSchema.safeParse(event).success) {
        const message =
          'expected a scheduled event or {orgId, force?, reason?} with an org id of A-Z a-z 0-9 _ -';
        logger.error('refresher event rejected', {
          code: 'invalid_event',
          issues: describe(demand.error),
        });
        return { kind: 'rejected', error: { code: 'invalid_event', message } };
      }
      const remaining = context?.getRemainingTimeInMillis?.();
      const budgetMs =
        remaining === undefined
          ? (deps.defaultBudgetMs ?? 240_000)
          : Math.max(0, remaining - (deps.reserveMs ?? 30_000));
      const summary = await refreshDueOrgs(run, {
        concurrency: deps.concurrency ?? 8,
        startJitterMs: deps.startJitterMs ?? 250,
        budgetMs,
      });
      record('OrgsDue', summary.due);
      record('TokenRefreshDuration', summary.durationMs);
      countOutcomes(record, summary.results);
      if (summary.secondsToSoonestExpiry !== undefined) {
        record('SoonestTokenExpiry', summary.secondsToSoonestExpiry);
      }
      const problems = summary.results.filter(
        (r) => r.outcome === 'failed' || r.outcome === 'error' || r.outcome === 'skipped',
      );
      logger.info('scheduled refresh run done', {
        due: summary.due,
        ...summary.outcomes,
        needsReauth: summary.needsReauth,
        deferred: summary.deferred,
        itemsRead: summary.itemsRead,
        secondsToSoonestExpiry: summary.secondsToSoonestExpiry,
        durationMs: summary.durationMs,
      });
      return {
        kind: 'scheduled',
        due: summary.due,
        outcomes: summary.outcomes,
        needsReauth: summary.needsReauth,
        deferred: summary.deferred,
        itemsRead: summary.itemsRead,
        secondsToSoonestExpiry: summary.secondsToSoonestExpiry,
        durationMs: summary.durationMs,
        problems,
      };
    } finally {
      deps.flushMetrics?.();
    }
  };
}

function countOutcomes(
  record: (name: MetricName, value: number) => void,
  results: RefreshResult[],
) {
  let refreshed = 0;
  let failed = 0;
  let needsReauth = 0;
  let contended = 0;
  for (const r of results) {
    if (r.outcome === 'refreshed' || r.outcome === 'recovered') refreshed += 1;
    if (r.outcome === 'failed' || r.outcome === 'error') failed += 1;
    if (r.outcome === 'failed' && r.needsReauth) needsReauth += 1;
    if (r.outcome === 'busy') contended += 1;
  }
  record('TokenRefreshSucceeded', refreshed);
  record('TokenRefreshFailed', failed);
  record('OrgsNeedingReauth', needsReauth);
  record('LeaseContended', contended);
}

/** Paths and check codes of the failed on-demand parse: never the values. */
function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
    .join('; ');
}
