/*
 * Long rate-limit waits for scheduled functions (reconciler, reporter). The client waits a
 * `Retry-After` only up to its cap (`retryAfterCapMs`, 30 s): asking again earlier only earns
 * another 429. A function that has time left waits the whole `Retry-After` Tallyfy asked for,
 * then asks for the same page again; one whose remaining time cannot hold the wait gets the 429
 * back at once, to stop that org cleanly and resume on its next run.
 */
import { sleep as defaultSleep } from '../async.ts';
import { TallyfyRateLimitError } from './errors.ts';

/** How long a function may still wait, and how it waits. */
export interface WaitBudget {
  /** Epoch ms by which the function must be done (Lambda: now + remaining time − a margin). */
  deadlineAt?: number | undefined;
  /** Epoch ms. */
  clock: () => number;
  /** @default `sleep` of shared/async.ts */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Most full waits in one call (each after a 429 that survived the client's own retries). @default 3 */
  maxWaits?: number | undefined;
  /** Called before each wait (log it). */
  onWait?: ((waitMs: number) => void) | undefined;
}

/**
 * The wait a rate-limited call asks for, when it fits the budget: `undefined` when the error is
 * not a 429 with a `Retry-After`, or waiting it would end past the deadline.
 */
function fittingWait(error: unknown, budget: WaitBudget): number | undefined {
  if (!(error instanceof TallyfyRateLimitError) || error.retryAfterMs === undefined) {
    return undefined;
  }
  const wait = error.retryAfterMs;
  if (budget.deadlineAt !== undefined && budget.clock() + wait >= budget.deadlineAt) {
    return undefined;
  }
  return wait;
}

/**
 * Runs `call`; after a 429 whose full `Retry-After` fits the budget it waits that long and runs
 * it again (at most `maxWaits` times). Otherwise the error is thrown as it is: a
 * {@link TallyfyRateLimitError} then means "stop here, resume later" (see
 * {@link isRateLimitDeferral}).
 *
 * @example
 * const run = await withRateLimitWaits(() => api.getRun(orgId, runId), { deadlineAt, clock });
 */
export async function withRateLimitWaits<T>(
  call: () => Promise<T>,
  budget: WaitBudget,
): Promise<T> {
  for (let waits = 0; ; waits++) {
    try {
      return await call();
    } catch (error) {
      const wait = waits < (budget.maxWaits ?? 3) ? fittingWait(error, budget) : undefined;
      if (wait === undefined) throw error;
      budget.onWait?.(wait);
      await (budget.sleep ?? defaultSleep)(wait);
    }
  }
}

/**
 * The pages of a list, each page waited for as {@link withRateLimitWaits} does: a page answered
 * 429 is asked for again after the full `Retry-After` (the pages already read stay read).
 * `pages(startPage)` reads the list from that page (`Paginated.pages`, `TallyfyClient.pages`).
 *
 * @example
 * const list = api.listTasks(orgId, filters);
 * for await (const page of pagesWithRateLimitWaits((start) => list.pages(start), budget)) …
 */
export async function* pagesWithRateLimitWaits<P extends { readonly page: number }>(
  pages: (startPage: number) => AsyncIterable<P>,
  budget: WaitBudget,
): AsyncGenerator<P> {
  let next = 1;
  let waits = 0;
  for (;;) {
    try {
      for await (const page of pages(next)) {
        next = page.page + 1;
        yield page;
      }
      return;
    } catch (error) {
      const wait = waits < (budget.maxWaits ?? 3) ? fittingWait(error, budget) : undefined;
      if (wait === undefined) throw error;
      waits++;
      budget.onWait?.(wait);
      await (budget.sleep ?? defaultSleep)(wait);
    }
  }
}

/**
 * Whether a failure means "Tallyfy asked us to wait longer than we can now": a 429 carrying the
 * wait it asked for. Such an org stops cleanly and its next run resumes it; it is not a failure.
 */
export function isRateLimitDeferral(error: unknown): error is TallyfyRateLimitError & {
  retryAfterMs: number;
} {
  return error instanceof TallyfyRateLimitError && error.retryAfterMs !== undefined;
}
