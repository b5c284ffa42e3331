import type { RateLimit } from './types.ts';

export type RateDecision =
  | { allowed: true; limit: number; remaining: number }
  | { allowed: false; limit: number; retryAfterSeconds: number };

/** A fixed window per key (org + token), timed by the injected clock. */
export class RateLimiter {
  config: RateLimit | false;
  readonly #windows = new Map<string, { startMs: number; count: number }>();

  constructor(config: RateLimit | false) {
    this.config = config;
  }

  check(key: string, nowMs: number): RateDecision | undefined {
    const config = this.config;
    if (!config) return undefined;
    let window = this.#windows.get(key);
    if (!window || nowMs - window.startMs >= config.windowMs) {
      window = { startMs: nowMs, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= config.limit) {
      const retryAfterSeconds = Math.max(
        1,
        Math.ceil((window.startMs + config.windowMs - nowMs) / 1000),
      );
      return { allowed: false, limit: config.limit, retryAfterSeconds };
    }
    window.count++;
    return { allowed: true, limit: config.limit, remaining: config.limit - window.count };
  }
}
