/**
 * A small concurrency limiter: at most `limit` tasks at once, the rest wait in FIFO order.
 * (The worker keys one per org to bound its calls to Tallyfy, under one for the whole batch.)
 */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`createLimiter: limit must be a whole number >= 1, got ${limit}`);
  }
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
