/*
 * The retry policy of every call to Tallyfy, the API client's and the OAuth token calls' alike,
 * as Tallyfy's own CLI (tallyfy/cli pkg/tallyfy/client.go) does it: 429 always (it was refused
 * unprocessed), honouring Retry-After up to a cap — unlike the CLI, a longer Retry-After is not
 * cut to the cap and retried early (each early retry earns another 429): the call fails at once
 * with the full wait on the error (`retryAfterMs`) for the caller to honour (the worker defers the
 * message for that long); 500/502/503/504 and lost connections only for
 * idempotent methods (the CLI leaves 500 out; we repeat it for reads, see `isRetryableStatus`);
 * a connection that was never made (refused, DNS, connect timeout) for any
 * method, since nothing was sent; exponential backoff 0.5–8 s with ±20% jitter; 4 retries, all
 * within one deadline. A POST that may have reached Tallyfy is never repeated: a token grant
 * rotates the refresh token, a launch creates a process. Pure functions: time and randomness
 * come in as arguments.
 */

/** Options of the retry policy; every field has a default. */
export interface RetryPolicy {
  /** Retries after the first attempt (so attempts = maxRetries + 1). @default 4 */
  maxRetries: number;
  /** Backoff before the first retry. @default 500 */
  minDelayMs: number;
  /** Longest backoff. @default 8000 */
  maxDelayMs: number;
  /** Backoff is multiplied by a random factor in [1 - jitter, 1 + jitter]. @default 0.2 */
  jitter: number;
  /**
   * Longest `Retry-After` waited in-process. A longer one is not waited at all: the call fails
   * with the wait Tallyfy asked for on the error, for the caller to honour. @default 30000
   */
  retryAfterCapMs: number;
  /** Budget of one call, all attempts and waits included. @default 60000 */
  deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 4,
  minDelayMs: 500,
  maxDelayMs: 8000,
  jitter: 0.2,
  retryAfterCapMs: 30_000,
  deadlineMs: 60_000,
});

/** Methods whose repetition has the same effect as one call (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/**
 * Statuses worth repeating an idempotent call for: the gateway or server is briefly unavailable
 * (502, 503, 504), or the server failed this once (500; repeating a read, or a PUT/DELETE whose
 * repetition has the same effect, cannot do harm, and Tallyfy answers a passing 500 often enough
 * that a doubt check must not give up on the first one).
 */
function isRetryableStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * Backoff before retry number `retry` (1-based): min·2^(retry-1), capped, with jitter.
 *
 * @example
 * backoffDelayMs(1, DEFAULT_RETRY_POLICY, () => 0.5); // 500
 * backoffDelayMs(9, DEFAULT_RETRY_POLICY, () => 0.5); // 8000
 */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.max(0, retry - 1));
  const factor = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.max(0, Math.round(base * factor));
}

/**
 * `Retry-After` in milliseconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3);
 * `undefined` when absent or unreadable. Uncapped: the caller applies the cap.
 *
 * @example
 * parseRetryAfterMs('7', Date.now());                              // 7000
 * parseRetryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT', Date.parse('2026-10-21T07:27:50Z')); // 10000
 */
export function parseRetryAfterMs(
  value: string | string[] | undefined,
  nowMs: number,
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Why the client retried. */
export type RetryReason = 'rate_limited' | 'server_error' | 'network_error' | 'unauthorized';

/** What came of one attempt: an answer's status, or no answer. */
export type AttemptOutcome =
  | {
      status: number;
      /** From the answer's `Retry-After`, uncapped. */
      retryAfterMs?: number | undefined;
    }
  | {
      /** No answer. */
      status?: undefined;
      /** The request was certainly not sent: the connection was never made. */
      unsent: boolean;
    };

/** The attempt being judged and the call it belongs to. */
export interface RetryQuestion {
  method: string;
  outcome: AttemptOutcome;
  /** The retry this would be, 1-based (retries so far + 1). */
  retry: number;
  /** Epoch ms now, and when the call's budget ends (start + `deadlineMs`). */
  nowMs: number;
  deadlineAt: number;
}

/**
 * Whether the policy retries after this attempt, why, and how long to wait first; `undefined`
 * when it does not (the outcome is final, the retries are spent, or the wait would end past the
 * call's deadline).
 *
 * @example
 * retryAfter({ method: 'POST', outcome: { status: 503 }, retry: 1, nowMs, deadlineAt }, policy, Math.random);
 * // undefined: a POST that may have taken effect is not repeated
 * retryAfter({ method: 'POST', outcome: { status: 429, retryAfterMs: 2000 }, retry: 1, nowMs, deadlineAt }, policy, Math.random);
 * // { reason: 'rate_limited', delayMs: 2000 }
 */
export function retryAfter(
  question: RetryQuestion,
  policy: RetryPolicy,
  random: () => number,
): { reason: RetryReason; delayMs: number } | undefined {
  const { method, outcome, retry } = question;
  let reason: RetryReason;
  let retryAfterMs: number | undefined;
  if (outcome.status === undefined) {
    if (!isIdempotent(method) && !outcome.unsent) return undefined;
    reason = 'network_error';
  } else if (outcome.status === 429) {
    reason = 'rate_limited';
    retryAfterMs = outcome.retryAfterMs;
  } else if (isRetryableStatus(outcome.status) && isIdempotent(method)) {
    reason = 'server_error';
    retryAfterMs = outcome.retryAfterMs;
  } else {
    return undefined;
  }
  if (retry > policy.maxRetries) return undefined;
  // a wait longer than the cap is the caller's to honour: retrying earlier only earns another 429
  if (retryAfterMs !== undefined && retryAfterMs > policy.retryAfterCapMs) return undefined;
  const delayMs = retryAfterMs ?? backoffDelayMs(retry, policy, random);
  // the deadline bounds the whole call: a wait that would end past it is not started
  if (question.nowMs + delayMs >= question.deadlineAt) return undefined;
  return { reason, delayMs };
}

/**
 * The policy with `overrides` applied, checked.
 *
 * @throws RangeError when `maxRetries` is not a whole number ≥ 0 (a programming error)
 */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (!Number.isInteger(policy.maxRetries) || policy.maxRetries < 0) {
    throw new RangeError(`retry.maxRetries must be a whole number >= 0`);
  }
  return policy;
}

/** Passed to `onRetry` before each retry's wait. */
export interface RetryEvent {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The retry about to happen, 1-based. */
  retry: number;
  reason: RetryReason;
  /** Status of the answer that caused it (absent for network errors). */
  status?: number | undefined;
  /** How long the client waits before the retry. */
  delayMs: number;
}

/** Counters since the client was made (reporting counts calls and retries). */
export interface ClientStats {
  /** Calls made through the client (one per `request`, whatever its retries). */
  requests: number;
  /** HTTP attempts sent (requests + retries). */
  attempts: number;
  /** All retries. */
  retries: number;
  retriesByReason: Record<RetryReason, number>;
  /** Attempts that waited for the org's request budget (the pacer), and for how long in all. */
  paced: number;
  pacedMs: number;
}

export function emptyStats(): ClientStats {
  return {
    requests: 0,
    attempts: 0,
    retries: 0,
    retriesByReason: { rate_limited: 0, server_error: 0, network_error: 0, unauthorized: 0 },
    paced: 0,
    pacedMs: 0,
  };
}
