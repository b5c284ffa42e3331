import type { ActionCaps } from './types.ts';

export type CapDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const HOUR_MS = 3_600_000;

/**
 * Tallyfy's per-org hourly caps on some actions (120 comments per org and hour, documented), as
 * a fixed hour window per org from its first capped action, timed by the injected clock. Over
 * the cap Tallyfy answers 429 with `code: "RATE_LIMIT_EXCEEDED"` in the body.
 */
export class ActionCapLimiter {
  config: ActionCaps | false;
  readonly #windows = new Map<string, { startMs: number; count: number }>();

  constructor(config: ActionCaps | false) {
    this.config = config;
  }

  /** Counts one comment of `orgId` when the cap allows it. */
  comment(orgId: string, nowMs: number): CapDecision {
    const limit = this.config === false ? undefined : this.config.commentsPerHour;
    if (limit === undefined) return { allowed: true };
    const key = `comment\u0000${orgId}`;
    let window = this.#windows.get(key);
    if (!window || nowMs - window.startMs >= HOUR_MS) {
      window = { startMs: nowMs, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.startMs + HOUR_MS - nowMs) / 1000));
      return { allowed: false, retryAfterSeconds };
    }
    window.count++;
    return { allowed: true };
  }
}
