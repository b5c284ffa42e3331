/**
 * When to refresh a token and when to retry after a failure. Pure functions over epoch-ms
 * numbers and ISO strings; no lifetime is assumed: everything derives from the token's own
 * `obtainedAt`/`expiresAt` (which come from Tallyfy's `expires_in`).
 */
import type { AuthMode } from '../orgs/index.ts';

/** The refresher's tunables; {@link DEFAULT_REFRESH_POLICY} holds the defaults. */
export interface RefreshPolicy {
  /** Refresh when less than max(marginMinSeconds, marginFraction × lifetime) remains. @default 900 */
  marginMinSeconds: number;
  /** @default 0.2 */
  marginFraction: number;
  /** Check even long-lived tokens (and PATs) at least this often so dead credentials surface. @default 86400 */
  keepAliveSeconds: number;
  /**
   * Up to this much earlier than computed, at random, so orgs registered together do not come
   * due in the same run forever (REFRESH_JITTER_SECONDS). Never later. @default 60
   */
  jitterSeconds: number;
  /** First retry delay after a transient failure. @default 60 */
  retryBaseSeconds: number;
  /** Longest retry delay after repeated transient failures. @default 1800 */
  retryMaxSeconds: number;
  /**
   * Credential failures in a row before the org is marked `needs_reauth` (a rejected refresh
   * token without a password to fall back to, or a rejected personal access token, count at
   * once: nothing but new credentials can help). @default 2
   */
  hardFailureThreshold: number;
  /**
   * A forced (on-demand) refresh is skipped when the stored token is younger than this: the
   * 401 that prompted it was for the token before. @default 60
   */
  minTokenAgeForForceSeconds: number;
  /** Warn this long before a personal access token's documented expiry. @default 1209600 (14 days) */
  patExpiryWarningSeconds: number;
}

export const DEFAULT_REFRESH_POLICY: Readonly<RefreshPolicy> = Object.freeze({
  marginMinSeconds: 900,
  marginFraction: 0.2,
  keepAliveSeconds: 86_400,
  jitterSeconds: 60,
  retryBaseSeconds: 60,
  retryMaxSeconds: 1_800,
  hardFailureThreshold: 2,
  minTokenAgeForForceSeconds: 60,
  patExpiryWarningSeconds: 14 * 86_400,
});

/** The two times every token carries (ISO 8601). */
export interface TokenTimes {
  obtainedAt: string;
  expiresAt: string;
}

/**
 * The refresh margin for a token, in ms: max(marginMinSeconds, marginFraction × lifetime), but
 * never more than half the lifetime, so a short-lived token (a 10-minute sandbox token) is not
 * due the moment it is obtained and refreshed on every run.
 */
export function refreshMarginMs(token: TokenTimes, policy: RefreshPolicy): number {
  const lifetimeMs = Math.max(0, Date.parse(token.expiresAt) - Date.parse(token.obtainedAt));
  const margin = Math.max(policy.marginMinSeconds * 1000, policy.marginFraction * lifetimeMs);
  return Math.min(margin, lifetimeMs / 2);
}

/**
 * When the refresher should next look at this token: at the margin before expiry, and never
 * later than the keep-alive interval after it was obtained. A personal access token cannot be
 * refreshed, only checked, so it is due at the keep-alive interval alone. `random` (0..1) moves
 * the time up to `jitterSeconds` earlier; without it the result is exact.
 */
export function refreshDueAt(
  token: TokenTimes,
  policy: RefreshPolicy,
  options: { authMode?: AuthMode | undefined; random?: (() => number) | undefined } = {},
): string {
  const keepAlive = Date.parse(token.obtainedAt) + policy.keepAliveSeconds * 1000;
  const atMargin = Date.parse(token.expiresAt) - refreshMarginMs(token, policy);
  const due =
    options.authMode === 'personal_access_token' ? keepAlive : Math.min(atMargin, keepAlive);
  const jitterMs = options.random ? Math.floor(options.random() * policy.jitterSeconds * 1000) : 0;
  // never before the token was obtained: that would make it due for ever
  return new Date(Math.max(Date.parse(token.obtainedAt), due - jitterMs)).toISOString();
}

/** True when the token is inside its refresh margin (or past the keep-alive interval). */
export function isRefreshDue(
  token: TokenTimes,
  nowMs: number,
  policy: RefreshPolicy,
  authMode?: AuthMode,
): boolean {
  return Date.parse(refreshDueAt(token, policy, { authMode })) <= nowMs;
}

/**
 * The next attempt after `consecutiveFailures` failures in a row: exponential from
 * `retryBaseSeconds`, capped at `retryMaxSeconds`, with ±20% jitter so that orgs that failed
 * together (a Tallyfy outage) do not all retry in the same second.
 */
export function retryAt(
  consecutiveFailures: number,
  nowMs: number,
  policy: RefreshPolicy,
  random: () => number,
): string {
  const exponent = Math.min(30, Math.max(0, consecutiveFailures - 1));
  const baseMs = Math.min(policy.retryMaxSeconds, policy.retryBaseSeconds * 2 ** exponent) * 1000;
  const jitter = 0.8 + 0.4 * random();
  return new Date(nowMs + Math.round(baseMs * jitter)).toISOString();
}
