/*
 * The retry policy, as Tallyfy's own CLI (tallyfy/cli pkg/tallyfy/client.go) does it: 429 always
 * (it was refused unprocessed), honouring Retry-After up to a cap; 502/503/504 and lost
 * connections only for idempotent methods; exponential backoff 0.5–8 s with ±20% jitter;
 * 4 retries. Pure functions: time and randomness come in as arguments.
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
  /** Longest wait a `Retry-After` may impose: longer asks are waited this long. @default 30000 */
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

/** Statuses that say "the gateway or server is briefly unavailable". */
export function isRetryableStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
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
}

export function emptyStats(): ClientStats {
  return {
    requests: 0,
    attempts: 0,
    retries: 0,
    retriesByReason: { rate_limited: 0, server_error: 0, network_error: 0, unauthorized: 0 },
  };
}
