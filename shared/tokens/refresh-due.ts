/**
 * The scheduled run: every org due for a refresh, found through the byRefreshDue index (never a
 * scan), refreshed with bounded concurrency, a start jitter per slot and a time budget.
 */
import { sleep as defaultSleep, mapBounded } from '../async.ts';
import type { OrgRegistry } from '../orgs/index.ts';
import { REFRESH_UNEXPECTED } from './errors.ts';
import {
  type RefreshDeps,
  type RefreshOutcome,
  type RefreshRegistry,
  type RefreshResult,
  refreshOrg,
} from './refresh.ts';

/** The registry query the scheduled run needs: due orgs through the index, never a scan. */
export type DueOrgsQuery = Pick<OrgRegistry, 'queryDue'>;

export interface RefreshDueOptions {
  /**
   * Orgs refreshed at once. Bounded because Tallyfy and Secrets Manager (about 50 writes/s per
   * region and account) both limit us (REFRESH_CONCURRENCY). @default 8
   */
  concurrency?: number;
  /** The first org of each concurrency slot but the first starts after a random delay up to this, so slots do not align. @default 250 */
  startJitterMs?: number;
  /** Stop taking new orgs after this long, so the Lambda can finish cleanly. @default 240000 */
  budgetMs?: number;
  /** At most this many due orgs per run; the rest are picked up by the next run. @default 5000 */
  limit?: number;
  /** @default `sleep` of shared/async.ts */
  sleep?: (ms: number) => Promise<void>;
}

/** What one scheduled run did. */
export interface RefreshDueSummary {
  /** Orgs the index returned as due. */
  due: number;
  /** Count per outcome (`refreshed`, `recovered`, `fresh`, `busy`, `skipped`, `failed`, `error`). */
  outcomes: Record<RefreshOutcome, number>;
  /** Orgs newly marked `needs_reauth` in this run. */
  needsReauth: number;
  /** Orgs left for the next run because the time budget ran out. */
  deferred: number;
  /** byRefreshDue index items read: grows with the orgs due, not the orgs registered. */
  itemsRead: number;
  /**
   * Seconds from now to the soonest token expiry among the orgs this run saw: the expiries it
   * obtained and those of the due orgs (including the ones that failed). `undefined` when the
   * run saw none.
   */
  secondsToSoonestExpiry?: number | undefined;
  durationMs: number;
  results: RefreshResult[];
}

const OUTCOMES: readonly RefreshOutcome[] = [
  'refreshed',
  'recovered',
  'fresh',
  'busy',
  'skipped',
  'failed',
  'error',
];

/**
 * Refreshes every due org; one org's failure never blocks another (refreshOrg records failures
 * on the org and returns them; nothing it returns stops a lane).
 *
 * @example
 * const summary = await refreshDueOrgs({ ...deps, registry }, { concurrency: 8 });
 * metrics.record('TokenRefreshSucceeded', summary.outcomes.refreshed);
 */
export async function refreshDueOrgs(
  deps: RefreshDeps & { registry: RefreshRegistry & DueOrgsQuery },
  options: RefreshDueOptions = {},
): Promise<RefreshDueSummary> {
  const started = deps.clock();
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  const budgetMs = options.budgetMs ?? 240_000;
  const startJitterMs = options.startJitterMs ?? 250;
  const sleep = options.sleep ?? defaultSleep;
  const due = await deps.registry.queryDue(new Date(started).toISOString(), {
    limit: options.limit ?? 5000,
  });
  // Shuffle so a persistently slow org at the head of the index does not always go first.
  const queue = shuffle([...due.orgIds], deps.random);
  const ran = await mapBounded(queue, concurrency, async (orgId, index) => {
    // the first org of each slot but the first starts late, so the slots do not align
    if (index > 0 && index < concurrency && startJitterMs > 0) {
      await sleep(Math.floor(deps.random() * startJitterMs));
    }
    // past the budget no org is started: they stay due for the next run
    if (deps.clock() - started > budgetMs) return undefined;
    try {
      return await refreshOrg(deps, orgId);
    } catch (error) {
      // refreshOrg returns its failures; a throw here is a bug: report it, keep going
      const name = error instanceof Error ? error.name : typeof error;
      deps.logger.error('refresh of one org threw', { orgId, error: name });
      return { orgId, outcome: 'error', code: REFRESH_UNEXPECTED, message: name } as const;
    }
  });
  const results: RefreshResult[] = ran.filter((result) => result !== undefined);
  const deferred = ran.length - results.length;

  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<
    RefreshOutcome,
    number
  >;
  for (const result of results) outcomes[result.outcome] += 1;
  const expiryOf = (r: RefreshResult) => ('expiresAt' in r && r.expiresAt ? [r.expiresAt] : []);
  const expiries = results.flatMap((r) => expiryOf(r).map((at) => Date.parse(at)));
  // due orgs we did not renew keep the expiry the index showed
  const renewed = new Set(results.flatMap((r) => (expiryOf(r).length > 0 ? [r.orgId] : [])));
  for (const org of due.orgs) {
    if (!renewed.has(org.orgId) && org.tokenExpiresAt)
      expiries.push(Date.parse(org.tokenExpiresAt));
  }
  const soonest = expiries.length > 0 ? Math.min(...expiries) : undefined;
  const finished = deps.clock();
  return {
    due: due.orgIds.length,
    outcomes,
    needsReauth: results.filter((r) => r.outcome === 'failed' && r.needsReauth).length,
    deferred,
    itemsRead: due.itemsRead,
    secondsToSoonestExpiry:
      soonest === undefined ? undefined : Math.round((soonest - finished) / 1000),
    durationMs: finished - started,
    results,
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
