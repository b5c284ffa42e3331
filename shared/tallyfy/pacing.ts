/*
 * Client-side pacing per org (TALLYFY_REQUESTS_PER_MINUTE): Tallyfy documents 100 requests per
 * minute per organisation (tallyfy/api-support) and answers 429 beyond it. A token bucket per
 * org, shared by every client of that org in the process (a Lambda container, or local mode),
 * spaces the calls so a burst does not run into the limit; Tallyfy's 429 and Retry-After stay
 * the backstop (several containers each have their own bucket).
 */
import { sleep as defaultSleep } from '../async.ts';

/** Gates each HTTP attempt of a client. */
export interface RequestPacer {
  /** Resolves when the next attempt may be sent, with how long it waited (ms). */
  acquire(): Promise<number>;
}

/** Options of {@link tokenBucket}. */
export interface TokenBucketOptions {
  /**
   * The budget: never more than this many attempts start in any 60-second window (for a budget
   * of 1: two, the burst and one refill).
   */
  requestsPerMinute: number;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** @default `sleep` of shared/async.ts */
  sleep?: (ms: number) => Promise<void>;
}

/** A token bucket and the figures it was built with. */
export interface TokenBucket extends RequestPacer {
  /** Attempts allowed at once after a quiet spell: a tenth of the budget (at least 1). */
  readonly burst: number;
  /** Tokens added per minute: the budget minus the burst, so burst + refill ≤ the budget. */
  readonly refillPerMinute: number;
}

/**
 * A token bucket holding `burst` = ⌊rpm / 10⌋ tokens (at least 1), refilled at rpm − burst per
 * minute: in any window of 60 s at most burst + (rpm − burst) = rpm attempts start, so one
 * container never exceeds the budget, while a short burst after a quiet spell goes out at once.
 * Waiters are served in arrival order (each takes its token when it arrives, possibly going
 * into debt, and sleeps until the debt is repaid).
 *
 * @throws RangeError when `requestsPerMinute` is not a whole number ≥ 1 (a programming error)
 * @example
 * const pacer = tokenBucket({ requestsPerMinute: 100 }); // burst 10, then 1.5 per second
 * await pacer.acquire();
 */
export function tokenBucket(options: TokenBucketOptions): TokenBucket {
  const rpm = options.requestsPerMinute;
  if (!Number.isInteger(rpm) || rpm < 1) {
    throw new RangeError(`requestsPerMinute must be a whole number >= 1, got ${rpm}`);
  }
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const burst = Math.max(1, Math.floor(rpm / 10));
  const refillPerMinute = Math.max(1, rpm - burst);
  const msPerToken = 60_000 / refillPerMinute;
  let tokens = burst;
  let at = clock();
  return {
    burst,
    refillPerMinute,
    async acquire() {
      const now = clock();
      tokens = Math.min(burst, tokens + (now - at) / msPerToken);
      at = now;
      tokens -= 1;
      if (tokens >= 0) return 0;
      const waitMs = Math.ceil(-tokens * msPerToken);
      await sleep(waitMs);
      return waitMs;
    },
  };
}

const buckets = new Map<string, TokenBucket>();

/**
 * The process-wide bucket of one org: every client of the org in this container (the worker's,
 * the reconciler's and the reporter's in local mode) draws from it.
 *
 * @example
 * createTallyfyClient({ auth, pacer: sharedOrgPacer(orgId, config.tallyfy.requestsPerMinute) });
 */
export function sharedOrgPacer(orgId: string, requestsPerMinute: number): RequestPacer {
  const key = `${requestsPerMinute} ${orgId}`;
  let bucket = buckets.get(key);
  if (bucket === undefined) {
    bucket = tokenBucket({ requestsPerMinute });
    buckets.set(key, bucket);
  }
  return bucket;
}
