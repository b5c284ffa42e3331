import type { Secret } from '../secret.ts';
import type { TokenScope } from '../tallyfy/index.ts';
import { TokenStoreError, TokenUnavailableError } from './errors.ts';
import type { OrgToken } from './schemas.ts';

/** Why a worker asks the refresher for a new token. */
export type RefreshReason = 'unauthorized' | 'expired' | 'missing';

/** What the provider needs of the token store (a worker may only read the token secret). */
export interface TokenReader {
  readToken(orgId: string): Promise<OrgToken | undefined>;
}

export interface TokenProviderLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** Options of {@link createTokenProvider}. */
export interface TokenProviderOptions {
  store: TokenReader;
  /** Epoch ms. */
  clock: () => number;
  /** Longest a token stays cached in this container. @default 300000 (5 min) */
  ttlMs?: number;
  /** A cached token is dropped this long before its `expiresAt`. @default 60000 */
  skewMs?: number;
  /**
   * A token that Tallyfy rejected and a re-read did not replace is cached only this long, so a
   * broken org costs one read per window, not one per call. @default 10000
   */
  rejectedTtlMs?: number;
  /**
   * Asks the refresher to refresh the org now (REFRESH_REQUESTS). The refresher single-flights
   * requests by its lease; the provider also sends at most one at a time per org. When it
   * resolves after the refresh is done, the provider's re-read sees the new token at once.
   */
  requestRefresh: (
    orgId: string,
    reason: RefreshReason,
    detail?: { rejectedTokenObtainedAt?: string | undefined },
  ) => Promise<void>;
  logger?: TokenProviderLogger;
}

/** The auth port the Tallyfy client takes for one org. */
export interface OrgAuth {
  getToken(): Promise<Secret>;
  /**
   * Call after a 401 with the token that was rejected. Resolves `true` when a different token
   * is now available (retry the request once), `false` when not (the 401 stands).
   */
  onUnauthorized(rejected: Secret): Promise<boolean>;
  /**
   * `app` when `token` is the org's client-credentials token, `user` for any other auth mode,
   * `undefined` for a token this provider did not hand out: the client then reads a 401 on a
   * user-scoped endpoint as a scope error, and asks for no refresh.
   */
  scopeOf(token: Secret): TokenScope | undefined;
}

export interface TokenProviderStats {
  /** Token secret reads (GetSecretValue calls made through the store). */
  reads: number;
  /** Lookups answered from the cache. */
  cacheHits: number;
  /** Calls of `requestRefresh`. */
  refreshRequests: number;
}

export interface TokenProvider {
  /** The org's access token: cached, or read once for all concurrent callers. */
  getToken(orgId: string): Promise<Secret>;
  forOrg(orgId: string): OrgAuth;
  onUnauthorized(orgId: string, rejected: Secret): Promise<boolean>;
  /** The scope of a token this provider read for the org (see {@link OrgAuth.scopeOf}). */
  scopeOf(orgId: string, token: Secret): TokenScope | undefined;
  /** Drops the cached token of one org, or of all. */
  invalidate(orgId?: string): void;
  stats(): TokenProviderStats;
}

interface Entry {
  token: OrgToken;
  /** epoch ms */
  cachedUntil: number;
}

/**
 * The worker side of the token lifecycle: a per-container cache of each org's token secret
 * (≤ `ttlMs`, never past `expiresAt − skewMs`), one read in flight per org, and the 401 rule
 * (re-read; if unchanged, ask the refresher; never call Tallyfy's token endpoint).
 *
 * @example
 * const tokens = createTokenProvider({
 *   store,
 *   clock: Date.now,
 *   requestRefresh: (orgId, reason) => refreshRequests.send({ orgId, reason }),
 * });
 * const tallyfy = createTallyfyClient({ auth: tokens.forOrg(orgId) });
 */
export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const { store, clock, requestRefresh, logger } = options;
  const ttlMs = options.ttlMs ?? 300_000;
  const skewMs = options.skewMs ?? 60_000;
  const rejectedTtlMs = options.rejectedTtlMs ?? 10_000;
  for (const [name, value] of Object.entries({ ttlMs, skewMs, rejectedTtlMs })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`createTokenProvider: ${name} must be a number ≥ 0, got ${value}`);
    }
  }

  const cache = new Map<string, Entry>();
  const loading = new Map<string, Promise<OrgToken>>();
  const refreshing = new Map<string, Promise<unknown>>();
  /** The last token Tallyfy rejected per org, while it is still the stored one. */
  const rejected = new Map<string, Secret>();
  const counters: TokenProviderStats = { reads: 0, cacheHits: 0, refreshRequests: 0 };
  /** The last token read per org, cached or not: what a 401 is judged against. */
  const lastRead = new Map<string, OrgToken>();

  const read = async (orgId: string): Promise<OrgToken | undefined> => {
    counters.reads += 1;
    const token = await store.readToken(orgId);
    if (token) lastRead.set(orgId, token);
    return token;
  };

  const scopeOf = (orgId: string, token: Secret): TokenScope | undefined => {
    const known = lastRead.get(orgId);
    if (!known?.accessToken.equals(token)) return undefined;
    return known.authMode === 'client_credentials' ? 'app' : 'user';
  };

  /** Sends one refresh request per org at a time; resolves to the error if it failed. */
  const refresh = (orgId: string, reason: RefreshReason, rejected?: OrgToken): Promise<unknown> => {
    const pending = refreshing.get(orgId);
    if (pending) return pending;
    counters.refreshRequests += 1;
    logger?.debug('token refresh requested', { orgId, reason });
    // the proof that the stored token is dead: the refresher replaces it however young it is
    const detail =
      rejected === undefined ? undefined : { rejectedTokenObtainedAt: rejected.obtainedAt };
    const request = requestRefresh(orgId, reason, detail)
      .then(
        () => undefined,
        (error: unknown) => {
          // Not fatal here: the re-read that follows decides, and carries this as its cause.
          logger?.warn('token refresh request failed', {
            orgId,
            reason,
            code: error instanceof TokenStoreError ? error.code : undefined,
            error: error instanceof Error ? error.message : String(error),
          });
          return error;
        },
      )
      .finally(() => refreshing.delete(orgId));
    refreshing.set(orgId, request);
    return request;
  };

  const remember = (orgId: string, token: OrgToken): void => {
    const now = clock();
    const knownBad = rejected.get(orgId);
    if (knownBad && !knownBad.equals(token.accessToken)) rejected.delete(orgId);
    const limit = rejected.has(orgId) ? rejectedTtlMs : ttlMs;
    const cachedUntil = Math.min(now + limit, Date.parse(token.expiresAt) - skewMs);
    if (cachedUntil > now) cache.set(orgId, { token, cachedUntil });
    else cache.delete(orgId);
  };

  const expired = (token: OrgToken): boolean => Date.parse(token.expiresAt) <= clock();

  /** The token is missing or expired: ask the refresher, then read once more. */
  const readAfterRefresh = async (orgId: string, reason: RefreshReason): Promise<OrgToken> => {
    const refreshError = await refresh(orgId, reason);
    const token = await read(orgId);
    const cause = refreshError === undefined ? {} : { cause: refreshError };
    if (!token) {
      throw new TokenUnavailableError(
        'TOKENS_TOKEN_MISSING',
        `Org ${orgId} has no access token yet and the refresh request did not produce one: check the org's status (needs_reauth?) and the refresher's logs.`,
        { orgId, ...cause },
      );
    }
    if (expired(token)) {
      throw new TokenUnavailableError(
        'TOKENS_TOKEN_EXPIRED',
        `The access token of org ${orgId} expired at ${token.expiresAt} and the refresh request did not replace it: check the org's status and the refresher's logs.`,
        { orgId, expiresAt: token.expiresAt, ...cause },
      );
    }
    return token;
  };

  const loadOnce = async (orgId: string): Promise<OrgToken> => {
    const first = await read(orgId);
    const token =
      first && !expired(first)
        ? first
        : await readAfterRefresh(orgId, first ? 'expired' : 'missing');
    remember(orgId, token);
    return token;
  };

  /** One load per org at a time: concurrent callers share it (and its failure). */
  const load = (orgId: string): Promise<OrgToken> => {
    const pending = loading.get(orgId);
    if (pending) return pending;
    const started = loadOnce(orgId).finally(() => loading.delete(orgId));
    loading.set(orgId, started);
    return started;
  };

  const cached = (orgId: string): Entry | undefined => {
    const entry = cache.get(orgId);
    if (entry && clock() < entry.cachedUntil) return entry;
    if (entry) cache.delete(orgId);
    return undefined;
  };

  const getToken = async (orgId: string): Promise<Secret> => {
    const entry = cached(orgId);
    if (entry) {
      counters.cacheHits += 1;
      return entry.token.accessToken;
    }
    return (await load(orgId)).accessToken;
  };

  const onUnauthorized = async (orgId: string, rejectedToken: Secret): Promise<boolean> => {
    // Another caller may already have re-read a newer token after the same rotation.
    const entry = cached(orgId);
    if (entry && !entry.token.accessToken.equals(rejectedToken)) return true;
    cache.delete(orgId);
    rejected.set(orgId, rejectedToken);
    const reread = await load(orgId);
    if (!reread.accessToken.equals(rejectedToken)) return true;
    // Unchanged: the stored token itself is dead (revoked, or refreshed elsewhere and not yet
    // stored). Ask the refresher, with the proof (which token was rejected), then look once more.
    await refresh(orgId, 'unauthorized', reread);
    cache.delete(orgId);
    const after = await load(orgId);
    const changed = !after.accessToken.equals(rejectedToken);
    if (!changed)
      logger?.warn('token rejected by Tallyfy and not replaced by a refresh', { orgId });
    return changed;
  };

  return {
    getToken,
    onUnauthorized,
    scopeOf,
    forOrg: (orgId) => ({
      getToken: () => getToken(orgId),
      onUnauthorized: (rejectedToken) => onUnauthorized(orgId, rejectedToken),
      scopeOf: (token) => scopeOf(orgId, token),
    }),
    invalidate(orgId) {
      if (orgId === undefined) cache.clear();
      else cache.delete(orgId);
    },
    stats: () => ({ ...counters }),
  };
}
