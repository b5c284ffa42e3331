/*
 * The refresh of one organisation's token: the heart of the bundle. Invariants:
 * - one writer per org: nothing is granted or written without holding the org's lease, and every
 *   write to the org item is fenced by the lease's counter;
 * - after taking the lease, the org item and the credentials are read again: another runner
 *   may have refreshed;
 * - a rotated refresh token is stored (credentials secret) before anything else, because Tallyfy
 *   revoked its predecessor the moment it answered;
 * - the credentials secret also keeps the last grant, so a run that died between the two secret
 *   writes is repaired by copying, not by spending another grant;
 * - before a grant on an org that is not yet due (a forced refresh), the org is marked due, so a
 *   run that dies mid-grant leaves an org the next scheduled run picks up, never a quiet one.
 */
import { randomUUID } from 'node:crypto';
import { sleep as defaultSleep } from '../async.ts';
import { errorCodeOf } from '../error-codes.ts';
import { LeaseLostError, OrgNotFoundError, type OrgRegistry } from '../orgs/index.ts';
import { REFRESH_UNEXPECTED } from './errors.ts';
import {
  type ClassifiedError,
  classifyRefreshError,
  type GrantedToken,
  type GrantKind,
  StaleCredentialsError,
  type TokenGrants,
} from './grants.ts';
import { isRefreshDue, type RefreshPolicy, refreshDueAt, retryAt } from './refresh-policy.ts';
import type { LastGrant, OrgCredentials, OrgToken } from './schemas.ts';
import type { TokenStore } from './store.ts';

/** The registry operations the refresher uses (shared/orgs `createOrgRegistry` implements them). */
export type RefreshRegistry = Pick<
  OrgRegistry,
  | 'acquireLease'
  | 'releaseLease'
  | 'recordRefreshSuccess'
  | 'recordRefreshFailure'
  | 'scheduleRefresh'
>;

/** The secret operations the refresher uses (shared/tokens `createTokenStore` implements them). */
export type RefreshSecrets = Pick<
  TokenStore,
  'readCredentials' | 'writeCredentials' | 'readToken' | 'writeToken'
>;

/** Structured log lines (a Powertools Logger fits). Extra fields never hold a secret. */
export interface RefreshLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/**
 * Points inside a refresh where a test can stop the process (crash tests). Each is awaited, so
 * a hook that never resolves freezes the run exactly there. Production passes none.
 */
export interface RefreshHooks {
  /** Tallyfy answered the grant; nothing is stored yet. */
  afterGrant?: (orgId: string) => Promise<void>;
  /** The credentials secret (new refresh token, lastGrant) is stored; the token secret is not. */
  afterCredentialsWrite?: (orgId: string) => Promise<void>;
}

export interface RefreshDeps {
  registry: RefreshRegistry;
  secrets: RefreshSecrets;
  grants: TokenGrants;
  policy: RefreshPolicy;
  /** Epoch ms. */
  clock: () => number;
  /** 0..1, for jitter. */
  random: () => number;
  logger: RefreshLogger;
  /** Identifies this runner in the lease (the Lambda request id). */
  owner: string;
  /** How long a lease is held before another runner may take over. @default 60000 */
  leaseDurationMs?: number;
  /** @default {@link classifyRefreshError} */
  classify?: (error: unknown) => ClassifiedError;
  /** Waits between retries of a secret write. @default `sleep` of shared/async.ts */
  sleep?: (ms: number) => Promise<void>;
  hooks?: RefreshHooks;
}

/** What became of one org. No variant holds a secret. */
export type RefreshResult =
  /** A new token was obtained and stored. */
  | { orgId: string; outcome: 'refreshed'; grant: GrantKind; expiresAt: string }
  /** The token secret was repaired from the credentials' lastGrant (no grant spent). */
  | { orgId: string; outcome: 'recovered'; expiresAt: string }
  /** Nothing to do: the token is not due (or was refreshed a moment ago). */
  | { orgId: string; outcome: 'fresh'; expiresAt?: string | undefined }
  /** Another runner holds the org's lease: it is being refreshed right now. */
  | { orgId: string; outcome: 'busy' }
  | { orgId: string; outcome: 'skipped'; reason: 'needs_reauth' | 'disabled' | 'not_found' }
  /** The refresh failed; recorded on the org item (lastError, retry time or needs_reauth). */
  | { orgId: string; outcome: 'failed'; code: string; needsReauth: boolean; retryAt: string }
  /** Our own infrastructure failed (registry, lost lease): nothing could be recorded. */
  | { orgId: string; outcome: 'error'; code: string; message: string };

export type RefreshOutcome = RefreshResult['outcome'];

interface LeasedOrg {
  orgId: string;
  authMode: OrgCredentials['authMode'];
  consecutiveFailures: number;
  refreshDueAt?: string | undefined;
  /** `obtainedAt` of the last token recorded by a successful refresh. */
  lastRefreshAt?: string | undefined;
  tokenExpiresAt?: string | undefined;
  /** The org's own token endpoint, when it has one. */
  tokenUrl?: string | undefined;
}

/** Options of {@link refreshOrg}. */
export interface RefreshOrgOptions {
  /** Refresh even if the token is not due (an on-demand request). @default false */
  force?: boolean;
  /**
   * With `force`: `obtainedAt` of a token Tallyfy rejected (a worker's proof). When it is the
   * org's current token it is replaced at once, however young; when a newer token is recorded,
   * nothing is granted. Without it, a forced refresh waits for `minTokenAgeForForceSeconds`.
   */
  rejectedTokenObtainedAt?: string;
}

/**
 * Refreshes one org's token if it is due (or, with `force`, unless it was refreshed in the last
 * `minTokenAgeForForceSeconds` and no proof says it is dead), under the org's lease. Failures of the refresh itself are
 * recorded on the org and returned as `failed`; it throws only for programming errors.
 *
 * @example
 * const result = await refreshOrg(deps, 'org5f4e3d2c1b0a', { force: true });
 * if (result.outcome === 'failed' && result.needsReauth) console.log(result.code);
 */
export async function refreshOrg(
  deps: RefreshDeps,
  orgId: string,
  options: RefreshOrgOptions = {},
): Promise<RefreshResult> {
  const { registry, logger, owner } = deps;
  let lease: Awaited<ReturnType<RefreshRegistry['acquireLease']>>;
  try {
    lease = await registry.acquireLease(orgId, {
      owner,
      durationMs: deps.leaseDurationMs ?? 60_000,
    });
  } catch (error) {
    if (error instanceof OrgNotFoundError)
      return { orgId, outcome: 'skipped', reason: 'not_found' };
    return infrastructureError(deps, orgId, error);
  }
  if (!lease) {
    logger.debug('refresh skipped: another runner holds the lease', { orgId });
    return { orgId, outcome: 'busy' };
  }
  const { fence, org } = lease;
  if (org.status !== 'active') {
    await registry.releaseLease(orgId, { owner, fence }).catch((error: unknown) =>
      // harmless: the lease runs out by itself; the org is not refreshed while not active
      logger.warn('could not release the lease of an org that is not active', {
        orgId,
        error: error instanceof Error ? error.name : typeof error,
      }),
    );
    return { orgId, outcome: 'skipped', reason: org.status };
  }
  try {
    return await refreshUnderLease(deps, org, fence, options);
  } catch (error) {
    if (error instanceof LeaseLostError) return infrastructureError(deps, orgId, error);
    const classified = (deps.classify ?? classifyRefreshError)(error);
    try {
      return await recordFailure(deps, org, fence, classified);
    } catch (recordError) {
      return infrastructureError(deps, orgId, recordError);
    }
  }
}

async function refreshUnderLease(
  deps: RefreshDeps,
  org: LeasedOrg,
  fence: number,
  options: RefreshOrgOptions,
): Promise<RefreshResult> {
  const force = options.force === true;
  const { secrets, registry, policy, logger, owner } = deps;
  const orgId = org.orgId;
  const now = deps.clock();
  const orgDue = org.refreshDueAt === undefined || Date.parse(org.refreshDueAt) <= now;
  // Re-read after taking the lease: another runner may have refreshed while we waited. The org
  // item (read with the lease) says which grant was last recorded; the token secret is not
  // needed to decide, which saves a Secrets Manager read per refresh.
  const credentials = await secrets.readCredentials(orgId);
  const recordedMs =
    org.lastRefreshAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(org.lastRefreshAt);

  const last = credentials.lastGrant;
  if (
    last &&
    Date.parse(last.obtainedAt) > recordedMs &&
    !isRefreshDue(last, now, policy, credentials.authMode)
  ) {
    // A run stored a grant with its refresh token and died before the org item recorded it
    // (before or after its token write): copy it. Same ClientRequestToken as that run's token
    // write, so if that write landed this one is a no-op, never a second version.
    await writeWithRetry(deps, () =>
      secrets.writeToken(orgId, tokenOf(last, credentials, last.grantId), {
        clientRequestToken: tokenWriteId(last.grantId),
      }),
    );
    await recordSuccess(deps, orgId, fence, credentials.authMode, last);
    logger.warn('token secret repaired from the last stored grant (a previous run stopped)', {
      orgId,
      expiresAt: last.expiresAt,
    });
    return { orgId, outcome: 'recovered', expiresAt: last.expiresAt };
  }

  if (credentials.authMode === 'password' && last && Date.parse(last.obtainedAt) < recordedMs) {
    // Every password-mode grant stores its lastGrant before the org item records it, so an older
    // one means this read is stale (eventual consistency): spending the refresh token it holds
    // would be a reuse. Try again on the next run instead.
    throw new StaleCredentialsError(
      `The credentials of org ${orgId} read older than the last recorded refresh: read again later.`,
    );
  }

  if (!orgDue) {
    // Not due by the org item (authoritative; the index may lag). A forced refresh with a
    // worker's proof is decided by which token was rejected: the current one (revoked, however
    // young) is replaced now; an older one was replaced already. Without proof, only a token
    // older than the minimum age is refreshed: a younger one is what the 401 was waiting for.
    const rejectedMs =
      options.rejectedTokenObtainedAt === undefined
        ? undefined
        : Date.parse(options.rejectedTokenObtainedAt);
    const fresh = !force
      ? true
      : rejectedMs !== undefined
        ? rejectedMs !== recordedMs
        : now - recordedMs < policy.minTokenAgeForForceSeconds * 1000;
    if (fresh) {
      await registry.releaseLease(orgId, { owner, fence });
      logger.debug('token is fresh; nothing to do', {
        orgId,
        force,
        proven: rejectedMs !== undefined,
      });
      return { orgId, outcome: 'fresh', expiresAt: org.tokenExpiresAt };
    }
    // Mark the intent first: if this run dies after Tallyfy rotated the refresh token, the org
    // is due and the next scheduled run recovers it (password fallback or needs_reauth).
    await registry.scheduleRefresh(orgId, new Date(now).toISOString());
  }

  const obtained = await deps.grants.obtain(credentials, {
    clock: deps.clock,
    policy,
    logger,
    tokenUrl: org.tokenUrl,
  });
  await deps.hooks?.afterGrant?.(orgId);
  const grantId = randomUUID();
  const grant: LastGrant = { grantId, ...obtained.token };

  if (obtained.credentials) {
    // Store the new refresh token before anything else: Tallyfy has already revoked the old one.
    const next = { ...obtained.credentials, lastGrant: grant };
    await writeWithRetry(deps, () =>
      secrets.writeCredentials(orgId, next, { clientRequestToken: `${grantId}-c` }),
    );
    await deps.hooks?.afterCredentialsWrite?.(orgId);
  }
  // a personal access token that was only checked need not be written again
  const stored =
    credentials.authMode === 'personal_access_token' && !obtained.credentials
      ? await secrets.readToken(orgId)
      : undefined;
  const unchanged =
    stored?.accessToken.equals(grant.accessToken) === true && stored.expiresAt === grant.expiresAt;
  if (!unchanged) {
    // Without a credentials write (no rotation) the token carries the grant id alone: a crash
    // before this write costs one more grant next run and loses nothing.
    await writeWithRetry(deps, () =>
      secrets.writeToken(orgId, tokenOf(grant, credentials, grantId), {
        clientRequestToken: tokenWriteId(grantId),
      }),
    );
  }
  await recordSuccess(deps, orgId, fence, credentials.authMode, grant);
  logger.info('token refreshed', {
    orgId,
    grant: obtained.kind,
    expiresAt: grant.expiresAt,
    forced: force,
    secretWrites: (obtained.credentials ? 1 : 0) + (unchanged ? 0 : 1),
  });
  return { orgId, outcome: 'refreshed', grant: obtained.kind, expiresAt: grant.expiresAt };
}

const tokenWriteId = (grantId: string): string => `${grantId}-t`;

function tokenOf(grant: GrantedToken, credentials: OrgCredentials, grantId: string): OrgToken {
  return {
    accessToken: grant.accessToken,
    tokenType: grant.tokenType,
    expiresAt: grant.expiresAt,
    obtainedAt: grant.obtainedAt,
    authMode: credentials.authMode,
    orgId: credentials.orgId,
    grantId,
  };
}

async function recordSuccess(
  deps: RefreshDeps,
  orgId: string,
  fence: number,
  authMode: OrgCredentials['authMode'],
  token: GrantedToken,
): Promise<void> {
  await deps.registry.recordRefreshSuccess(orgId, {
    owner: deps.owner,
    fence,
    tokenExpiresAt: token.expiresAt,
    refreshDueAt: refreshDueAt(token, deps.policy, { authMode, random: deps.random }),
    obtainedAt: token.obtainedAt,
  });
}

async function recordFailure(
  deps: RefreshDeps,
  org: LeasedOrg,
  fence: number,
  error: ClassifiedError,
): Promise<RefreshResult> {
  const failures = org.consecutiveFailures + 1;
  const needsReauth =
    error.needsReauth && (error.definitive || failures >= deps.policy.hardFailureThreshold);
  const nextAt = retryAt(failures, deps.clock(), deps.policy, deps.random);
  // the registry scrubs and cuts the message again before it stores it
  await deps.registry.recordRefreshFailure(org.orgId, {
    owner: deps.owner,
    fence,
    error: { code: error.code, message: error.message },
    needsReauth,
    retryAt: nextAt,
  });
  const details = {
    orgId: org.orgId,
    code: error.code,
    reason: error.message,
    consecutiveFailures: failures,
  };
  if (needsReauth) {
    deps.logger.error('org needs re-authorisation: its credentials no longer mint tokens', details);
  } else {
    deps.logger.warn('token refresh failed; will retry', { ...details, retryAt: nextAt });
  }
  return { orgId: org.orgId, outcome: 'failed', code: error.code, needsReauth, retryAt: nextAt };
}

function infrastructureError(deps: RefreshDeps, orgId: string, error: unknown): RefreshResult {
  const code = errorCodeOf(error, REFRESH_UNEXPECTED);
  const name = error instanceof Error ? error.name : typeof error;
  const message =
    error instanceof LeaseLostError
      ? 'the lease expired during the refresh and another runner took it: the refresh outlived LEASE_DURATION_SECONDS'
      : `${name}: the org registry failed`;
  deps.logger.error('refresh could not complete', { orgId, code, error: name });
  return { orgId, outcome: 'error', code, message };
}

/** A secret write that failed transiently is retried with the same ClientRequestToken. */
async function writeWithRetry(
  deps: RefreshDeps,
  write: () => Promise<void>,
  attempts = 3,
): Promise<void> {
  const sleep = deps.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const retryable = (error as { retryable?: unknown } | null)?.retryable === true;
      if (!retryable || attempt >= attempts) throw error;
      await sleep(Math.round(200 * 2 ** attempt * (0.5 + deps.random())));
    }
  }
}
