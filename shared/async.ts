/**
 * Waiting and bounded concurrency, defined once: the default of every injectable `sleep`, the
 * limiter the worker keys per org, the bounded map the refresher, reconciler and reporter
 * run their orgs through, and the group commit the receiver's sends and markers go through.
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

/** Options of {@link createGroupCommit}. */
export interface GroupCommitOptions<T> {
  /** Most items one commit takes (e.g. 10 for SendMessageBatch, 25 for BatchWriteItem). */
  maxItems: number;
  /**
   * Commits in flight at once. Items that arrive while every one is busy wait, and go together
   * in the next commit to start. @default 1
   */
  maxInFlight?: number;
  /**
   * Stores the items, in the order given. Resolves with the failures by item index (an index
   * not in the map was stored), or `undefined` when every item was stored; a rejection fails
   * every item of the commit with that error.
   */
  commit(items: readonly T[]): Promise<ReadonlyMap<number, unknown> | undefined>;
}

/** Submits one item; resolves once a commit stored it, rejects with its failure. */
export type GroupCommit<T> = (item: T) => Promise<void>;

/**
 * Group commit: what arrives while commits are in flight waits and goes in one commit, so a
 * burst costs a commit per group instead of one per item, and no item waits for more than
 * the commits ahead of it. An item that finds a free slot goes at once, alone: with one caller
 * at a time (a Lambda container handles one request at a time) it is a plain call.
 *
 * @example
 * const send = createGroupCommit<Message>({ maxItems: 10, maxInFlight: 2,
 *   commit: (messages) => sendAll(messages) });
 * await send(message); // stored
 */
export function createGroupCommit<T>(options: GroupCommitOptions<T>): GroupCommit<T> {
  const { maxItems, commit } = options;
  const maxInFlight = options.maxInFlight ?? 1;
  checkLimit('createGroupCommit maxItems', maxItems);
  checkLimit('createGroupCommit maxInFlight', maxInFlight);
  const waiting: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  let inFlight = 0;

  const run = async (group: typeof waiting) => {
    try {
      const failures = await commit(group.map((entry) => entry.item));
      for (const [index, entry] of group.entries()) {
        if (failures?.has(index)) entry.reject(failures.get(index));
        else entry.resolve();
      }
    } catch (error) {
      for (const entry of group) entry.reject(error);
    } finally {
      inFlight -= 1;
      pump();
    }
  };
  const pump = () => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      inFlight += 1;
      void run(waiting.splice(0, maxItems));
    }
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      pump();
    });
}

function checkLimit(caller: string, limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`${caller}: limit must be a whole number >= 1, got ${limit}`);
  }
}
