/**
 * How each authMode obtains (or checks) a token: the refresher's grant port, over Tallyfy's
 * OAuth functions (shared/tallyfy `tallyfyOAuth`). Also the one classification of refresh
 * failures the refresher branches on.
 */
import { errorCodeOf } from '../error-codes.ts';
import type { Secret } from '../secret.ts';
import {
  type AppUserTokenInput,
  type ClientCredentialsGrantInput,
  classifyGrantError,
  type GrantCallOptions,
  type PasswordGrantInput,
  type RefreshTokenGrantInput,
  TallyfyError,
  type TokenSet,
} from '../tallyfy/index.ts';
import { REFRESH_UNEXPECTED, TokenStoreError, type TokensErrorCode } from './errors.ts';
import type { RefreshPolicy } from './refresh-policy.ts';
import type { OrgCredentials } from './schemas.ts';

/** Which grant produced a token (`personal_access_token`: a successful `GET /me` check). */
export type GrantKind =
  | 'refresh_token'
  | 'password'
  | 'client_credentials'
  | 'personal_access_token'
  | 'app_user_token';

/** A token as the refresher stores it (no refresh token: that lives in the credentials). */
export interface GrantedToken {
  accessToken: Secret;
  tokenType: string;
  expiresAt: string;
  obtainedAt: string;
}

/** What {@link TokenGrants.obtain} produced. */
export interface ObtainedGrant {
  kind: GrantKind;
  token: GrantedToken;
  /**
   * The credentials to store before anything else, when the grant changed them (a rotated
   * refresh token; a PAT's first `issuedAt`). `undefined`: the stored credentials stay right.
   */
  credentials?: OrgCredentials | undefined;
}

/** Log lines the grants write (a Powertools Logger fits). */
export interface GrantLogger {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface ObtainContext {
  clock: () => number;
  policy: RefreshPolicy;
  logger: GrantLogger;
  /** The org's own token endpoint (its `tokenUrl`); absent: the deployment's. */
  tokenUrl?: string | undefined;
}

/** The refresher's grant port: one call per refresh, per the credentials' authMode. */
export interface TokenGrants {
  obtain(credentials: OrgCredentials, context: ObtainContext): Promise<ObtainedGrant>;
}

/** The Tallyfy OAuth calls the grants use: `tallyfyOAuth(options)` from shared/tallyfy. */
export interface TallyfyOAuthPort {
  passwordGrant(input: PasswordGrantInput, call?: GrantCallOptions): Promise<TokenSet>;
  refreshTokenGrant(input: RefreshTokenGrantInput, call?: GrantCallOptions): Promise<TokenSet>;
  clientCredentialsGrant(
    input: ClientCredentialsGrantInput,
    call?: GrantCallOptions,
  ): Promise<TokenSet>;
  mintAppUserToken(input: AppUserTokenInput): Promise<TokenSet>;
  validatePersonalAccessToken(pat: Secret): Promise<unknown>;
}

export interface TallyfyGrantsOptions {
  /** The documented lifetime of a personal access token, in days. @default 182 (6 months) */
  patLifetimeDays?: number;
}

/**
 * The grant port over Tallyfy:
 * - `password`: the refresh-token grant; when Tallyfy rejects the refresh token (spent, revoked,
 *   expired) and a username and password are stored, the password grant; with no refresh
 *   token stored, the password grant at once. The rotated refresh token is returned in
 *   `credentials` so the refresher stores it first.
 * - `client_credentials`: a new client-credentials grant (there is no refresh token).
 * - `app_user_token`: a client-credentials grant of the app, then `POST /applications/{org}/users/{email}/token`.
 * - `personal_access_token`: `GET /me` with the token; the token stays the same, its expiry is
 *   the documented 6 months after `issuedAt` (recorded at the first check when unknown); warns
 *   ahead of it. A 401 is `token_rejected` (→ `needs_reauth`).
 *
 * @example
 * const grants = createTallyfyGrants(tallyfyOAuth({ baseUrl: config.tallyfy.baseUrl }));
 */
export function createTallyfyGrants(
  oauth: TallyfyOAuthPort,
  options: TallyfyGrantsOptions = {},
): TokenGrants {
  const patLifetimeMs = (options.patLifetimeDays ?? 182) * 86_400_000;
  return {
    async obtain(credentials, { clock, policy, logger, tokenUrl }) {
      const orgId = credentials.orgId;
      // the org's own token endpoint, when it has one, for every grant of this refresh
      const call: GrantCallOptions = { tokenUrl };
      switch (credentials.authMode) {
        case 'password': {
          const { clientId, clientSecret, username, password, refreshToken } = credentials;
          if (refreshToken) {
            try {
              const set = await oauth.refreshTokenGrant(
                { clientId, clientSecret, refreshToken },
                call,
              );
              return {
                kind: 'refresh_token',
                token: tokenOf(set),
                credentials: { ...credentials, refreshToken: set.refreshToken ?? refreshToken },
              };
            } catch (error) {
              const failure = classifyRefreshError(error);
              if (!failure.refreshTokenRejected || !username || !password) throw error;
              logger.warn('refresh token rejected; falling back to the password grant', {
                orgId,
                code: failure.code,
              });
            }
          }
          if (!username || !password) {
            throw new MissingCredentialsError(
              `Org ${orgId} has neither a refresh token nor a username and password: register its credentials again.`,
            );
          }
          const set = await oauth.passwordGrant(
            { clientId, clientSecret, username, password },
            call,
          );
          return {
            kind: 'password',
            token: tokenOf(set),
            credentials: { ...credentials, refreshToken: set.refreshToken },
          };
        }
        case 'client_credentials': {
          const set = await oauth.clientCredentialsGrant(
            { clientId: credentials.clientId, clientSecret: credentials.clientSecret },
            call,
          );
          return { kind: 'client_credentials', token: tokenOf(set) };
        }
        case 'app_user_token': {
          const app = await oauth.clientCredentialsGrant(
            { clientId: credentials.appClientId, clientSecret: credentials.appClientSecret },
            call,
          );
          const set = await oauth.mintAppUserToken({
            appToken: app.accessToken,
            orgId,
            email: credentials.email,
          });
          return { kind: 'app_user_token', token: tokenOf(set) };
        }
        case 'personal_access_token': {
          await oauth.validatePersonalAccessToken(credentials.token);
          const nowMs = clock();
          const obtainedAt = new Date(nowMs).toISOString();
          const issuedAt = credentials.issuedAt ?? obtainedAt;
          const documentedExpiryMs = Date.parse(issuedAt) + patLifetimeMs;
          const remainingMs = documentedExpiryMs - nowMs;
          if (remainingMs < policy.patExpiryWarningSeconds * 1000) {
            logger.warn(
              remainingMs > 0
                ? 'personal access token expires soon: create a new one in Tallyfy and update the org'
                : 'personal access token is past its documented 6-month life: create a new one in Tallyfy and update the org',
              {
                orgId,
                documentedExpiry: new Date(documentedExpiryMs).toISOString(),
                daysLeft: Math.floor(remainingMs / 86_400_000),
              },
            );
          }
          // Tallyfy accepted it just now: do not tell workers it expired because a document says so
          const expiresAt = new Date(
            Math.max(documentedExpiryMs, nowMs + policy.keepAliveSeconds * 1000),
          ).toISOString();
          return {
            kind: 'personal_access_token',
            token: { accessToken: credentials.token, tokenType: 'Bearer', expiresAt, obtainedAt },
            credentials:
              credentials.issuedAt === undefined ? { ...credentials, issuedAt } : undefined,
          };
        }
      }
    },
  };
}

function tokenOf(set: TokenSet): GrantedToken {
  return {
    accessToken: set.accessToken,
    tokenType: set.tokenType,
    expiresAt: set.expiresAt,
    obtainedAt: set.obtainedAt,
  };
}

/** The org's stored credentials cannot mint a token at all. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
  readonly code: Extract<TokensErrorCode, 'TOKENS_CREDENTIALS_INCOMPLETE'> =
    'TOKENS_CREDENTIALS_INCOMPLETE';
}

/** The credentials secret answered with a version older than the org item records (retryable). */
export class StaleCredentialsError extends Error {
  override readonly name = 'StaleCredentialsError';
  readonly code: Extract<TokensErrorCode, 'TOKENS_CREDENTIALS_STALE'> = 'TOKENS_CREDENTIALS_STALE';
}

/** How the refresher sees a failure. */
export interface ClassifiedError {
  /** Stable code, stored as the org's `lastError.code`. */
  code: string;
  /** Safe to store and log: our own messages name orgs and secrets, never values. */
  message: string;
  /** The credentials are wrong or dead: retrying without a change cannot help. */
  needsReauth: boolean;
  /** No doubt at all (a rejected refresh token with no fallback, a rejected PAT): needs_reauth at once. */
  definitive: boolean;
  /** Specifically: the refresh token was rejected (spent or revoked). */
  refreshTokenRejected: boolean;
}

const DEFINITIVE_CODES = new Set([
  'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED',
  'TALLYFY_OAUTH_TOKEN_REJECTED',
  'TOKENS_CREDENTIALS_INCOMPLETE',
]);
/** Secret problems that only new credentials (re-registration) can fix. */
const SECRET_REAUTH_CODES = new Set([
  'TOKENS_SECRET_NOT_FOUND',
  'TOKENS_SECRET_MALFORMED',
  'TOKENS_SECRET_DELETED',
]);

/**
 * Maps anything a refresh can throw to a {@link ClassifiedError}: Tallyfy's grant errors (by
 * `classifyGrantError`), the token store's errors, missing credentials; anything else is
 * transient (its code if it is one of ours, else `TOKENS_REFRESH_UNEXPECTED`) and keeps only
 * the error's class name.
 */
export function classifyRefreshError(error: unknown): ClassifiedError {
  if (error instanceof TallyfyError) {
    const grant = classifyGrantError(error);
    return { ...grant, definitive: grant.needsReauth && DEFINITIVE_CODES.has(grant.code) };
  }
  if (error instanceof MissingCredentialsError) {
    return {
      code: error.code,
      message: error.message,
      needsReauth: true,
      definitive: true,
      refreshTokenRejected: false,
    };
  }
  if (error instanceof TokenStoreError) {
    const reauth = SECRET_REAUTH_CODES.has(error.code);
    return {
      code: error.code,
      message: error.message,
      needsReauth: reauth,
      definitive: false,
      refreshTokenRejected: false,
    };
  }
  if (error instanceof StaleCredentialsError) {
    return {
      code: 'TOKENS_CREDENTIALS_STALE',
      message: error.message,
      needsReauth: false,
      definitive: false,
      refreshTokenRejected: false,
    };
  }
  const name = error instanceof Error ? error.name : typeof error;
  return {
    code: errorCodeOf(error, REFRESH_UNEXPECTED),
    // the message of an error we did not write could quote anything: keep its class only
    message: `${name}: unexpected failure during the refresh (see the refresher's log)`,
    needsReauth: false,
    definitive: false,
    refreshTokenRejected: false,
  };
}
