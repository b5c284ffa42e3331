/**
 * Waiting and bounded concurrency, defined once: the default of every injectable `sleep`, the
 * limiter the worker keys per org, and the bounded map the refresher, reconciler and reporter
 * run their orgs through.
 */
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Resolves after `ms` milliseconds: the default wherever a `sleep` port can be injected (tests
 * pass one that records the wait instead of waiting).
 *
 * @example await sleep(500);
 */
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

/** Runs a task when a slot is free; see {@link createLimiter}. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * A limiter for tasks that arrive over time: at most `limit` run at once, the rest wait in FIFO
 * order. Limiters nest (the worker runs each record through its org's limiter inside one for
 * the whole batch).
 *
 * @example
 * const limit = createLimiter(2);
 * await Promise.all(records.map((record) => limit(() => handle(record))));
 */
export function createLimiter(limit: number): Limiter {
  checkLimit('createLimiter', limit);
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    active -= 1;
    waiting.shift()?.();
  };
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/**
 * Runs `task` over `items` with at most `limit` in flight; the results keep the input order.
 * Items are pulled only when a slot is free, so an async iterable (a paginated list of orgs) is
 * read as fast as the tasks go, not all at once. The first task to throw rejects the result;
 * tasks already started run to their end.
 *
 * @example
 * const reports = await mapBounded(orgs, 4, (org) => reportOrg(deps, org, period));
 */
export async function mapBounded<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  checkLimit('mapBounded', limit);
  const iterator =
    Symbol.asyncIterator in items
      ? items[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]();
  const results: R[] = [];
  let next = 0;
  // each lane pulls the next item when its task is done; an async generator queues the pulls
  const lane = async (): Promise<void> => {
    for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) {
      const index = next++;
      results[index] = await task(step.value, index);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

function checkLimit(caller: string, limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`${caller}: limit must be a whole number >= 1, got ${limit}`);
  }
}
