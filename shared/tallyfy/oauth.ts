import type { Dispatcher } from 'undici';
import * as z from 'zod';
import { sleep as defaultSleep } from '../async.ts';
import { Secret } from '../secret.ts';
import { DEFAULT_BASE_URL, networkFailure, sharedDispatcher, wasUnsent } from './client.ts';
import { redact, safeCause, TallyfyError, type TallyfyErrorCode } from './errors.ts';
import {
  type AttemptOutcome,
  parseRetryAfterMs,
  type RetryPolicy,
  retryAfter,
  retryPolicy,
} from './retry.ts';
import { single, type TallyfyUser, userSchema } from './schemas.ts';
import { defaultTokenUrl } from './token-url.ts';

/*
 * Tallyfy's token grants (Laravel Passport): `POST <token URL>`, form-encoded, never JSON. The
 * token URL is its own setting (token-url.ts): in production it is not on the API's host.
 * Every call here follows the API client's retry policy (retry.ts). Token requests are POSTs that
 * may rotate a refresh token, so under that policy a 5xx or a connection lost after the request
 * went out is never retried (a second refresh could spend the token the first one already
 * rotated): it is reported as transient and the caller (the refresher, under its lease)
 * decides. A 429 is retried after Retry-After (the server refused it without processing it), and
 * so is a connection that was never made (nothing was sent). `GET /me` is idempotent: it is
 * retried on 500/502/503/504 and lost connections too.
 */

/** The result of a grant. Lifetimes come from `expires_in`, never from a constant. */
export interface TokenSet {
  accessToken: Secret;
  /** `Bearer`. */
  tokenType: string;
  /** Present for the password and refresh grants. Store it first: the old one is now dead. */
  refreshToken?: Secret;
  /** ISO 8601: `obtainedAt` + `expires_in`. */
  expiresAt: string;
  /** ISO 8601: when the request was sent (so `expiresAt` errs early, never late). */
  obtainedAt: string;
  expiresInSeconds: number;
}

export type GrantType =
  | 'password'
  | 'refresh_token'
  | 'client_credentials'
  | 'app_user_token'
  | 'personal_access_token';

/** The codes an {@link OAuthError} carries (a subset of the family's). */
export type OAuthErrorCode = Extract<
  TallyfyErrorCode,
  | `TALLYFY_OAUTH_${string}`
  | 'TALLYFY_FORBIDDEN'
  | 'TALLYFY_RATE_LIMITED'
  | 'TALLYFY_SERVER_ERROR'
  | 'TALLYFY_NETWORK_ERROR'
  | 'TALLYFY_RESPONSE_INVALID'
>;

/**
 * A grant or token check failed. `needsReauth`: the credentials are wrong or dead, retrying
 * without a change cannot help. `transient`: try again later. Neither: a bad answer or a bug.
 */
export class OAuthError extends TallyfyError {
  override name = 'OAuthError';
  declare readonly code: OAuthErrorCode;
  readonly grant: GrantType;
  readonly needsReauth: boolean;
  readonly transient: boolean;
  /** OAuth's `error` field as Tallyfy sent it (`invalid_grant`…), when it did. */
  readonly oauthError: string | undefined;
  /** From `Retry-After`, on `rate_limited`. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: OAuthErrorCode,
    grant: GrantType,
    message: string,
    details: {
      needsReauth: boolean;
      transient: boolean;
      status?: number | undefined;
      method: string;
      path: string;
      oauthError?: string | undefined;
      tallyfyMessage?: string | undefined;
      requestId?: string | undefined;
      retryAfterMs?: number | undefined;
      attempts?: number | undefined;
      cause?: unknown;
    },
  ) {
    super(code, details.transient ? 'transient' : 'permanent', message, details);
    this.grant = grant;
    this.needsReauth = details.needsReauth;
    this.transient = details.transient;
    this.oauthError = details.oauthError;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** The refresh token is spent or revoked (either of Passport's two answers). */
  get refreshTokenRejected(): boolean {
    return this.code === 'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED';
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      grant: this.grant,
      needsReauth: this.needsReauth,
      transient: this.transient,
      oauthError: this.oauthError,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

/** Options shared by the grant functions; all have defaults. */
export interface OAuthOptions {
  /**
   * API base URL, for the calls that are API calls (`POST /applications/…/token`, `GET /me`).
   * @default 'https://go.tallyfy.com/api'
   */
  baseUrl?: string;
  /**
   * The OAuth token endpoint the grants are posted to (`TALLYFY_TOKEN_URL`, or an org's own).
   * @default derived from `baseUrl` by {@link defaultTokenUrl} (`https://account.tallyfy.com/oauth/token`
   * for Tallyfy's API hosts); required for any other API host
   */
  tokenUrl?: string | undefined;
  /** @default the process-wide keep-alive pool of the origin (the API client's, when the origins match) */
  dispatcher?: Dispatcher;
  /** TCP+TLS connect timeout of that shared pool (ignored with `dispatcher`). @default 5000 */
  connectTimeoutMs?: number | undefined;
  /** Time to the response headers. @default 15000 */
  headersTimeoutMs?: number;
  /** Longest silence while reading the body. @default 15000 */
  bodyTimeoutMs?: number;
  /** Epoch ms (`obtainedAt`, `expiresAt`, Retry-After dates, the call's deadline). @default Date.now */
  clock?: () => number;
  /** In [0, 1), for the backoff's jitter. @default Math.random */
  random?: () => number;
  /** Waits between attempts. @default `sleep` of shared/async.ts */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The retry policy, the API client's (`tallyfyClientOptions(config.tallyfy).retry` gives the
   * configured one); fields not given keep their defaults (`DEFAULT_RETRY_POLICY`, retry.ts).
   */
  retry?: Partial<RetryPolicy> | undefined;
}

export interface PasswordGrantInput {
  clientId: string;
  clientSecret: Secret;
  username: string;
  password: Secret;
}

export interface RefreshTokenGrantInput {
  clientId: string;
  clientSecret: Secret;
  refreshToken: Secret;
}

export interface ClientCredentialsGrantInput {
  clientId: string;
  clientSecret: Secret;
}

export interface AppUserTokenInput {
  /** A client-credentials token of the app. */
  appToken: Secret;
  orgId: string;
  email: string;
}

// built on first use (z.lazy): most functions that bundle this module never ask for a grant
const expiresIn = z.lazy(() =>
  z
    .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
    .pipe(z.number().int().positive()),
);

const tokenResponseSchema = z.lazy(() =>
  z.looseObject({
    token_type: z.string().regex(/^bearer$/i, 'token_type must be Bearer'),
    expires_in: expiresIn,
    access_token: z.string().min(1),
    refresh_token: z.string().min(1).optional(),
  }),
);

const errorBodySchema = z.lazy(() =>
  z.looseObject({
    error: z.string().optional(),
    error_description: z.string().optional(),
    message: z.string().optional(),
    hint: z.string().optional(),
  }),
);

/**
 * Password grant: user credentials → access and refresh token.
 *
 * @example
 * const tokens = await passwordGrant({ clientId: '3127', clientSecret, username, password });
 */
export function passwordGrant(input: PasswordGrantInput, options: OAuthOptions = {}) {
  return tokenGrant(
    'password',
    {
      grant_type: 'password',
      client_id: input.clientId,
      client_secret: input.clientSecret.reveal(),
      username: input.username,
      password: input.password.reveal(),
    },
    [input.clientSecret, input.password],
    options,
  );
}

/**
 * Refresh grant. Tallyfy rotates refresh tokens: the result's `refreshToken` replaces the one
 * sent, which is dead from now on.
 *
 * @example
 * const next = await refreshTokenGrant({ clientId, clientSecret, refreshToken });
 */
export function refreshTokenGrant(input: RefreshTokenGrantInput, options: OAuthOptions = {}) {
  return tokenGrant(
    'refresh_token',
    {
      grant_type: 'refresh_token',
      client_id: input.clientId,
      client_secret: input.clientSecret.reveal(),
      refresh_token: input.refreshToken.reveal(),
    },
    [input.clientSecret, input.refreshToken],
    options,
  );
}

/**
 * Client-credentials grant (scope `*`): an app token without user context (user-scoped
 * endpoints answer it 401; use it to mint user tokens).
 *
 * @example
 * const app = await clientCredentialsGrant({ clientId: '3128', clientSecret });
 */
export function clientCredentialsGrant(
  input: ClientCredentialsGrantInput,
  options: OAuthOptions = {},
) {
  return tokenGrant(
    'client_credentials',
    {
      grant_type: 'client_credentials',
      client_id: input.clientId,
      client_secret: input.clientSecret.reveal(),
      scope: '*',
    },
    [input.clientSecret],
    options,
  );
}

/**
 * Mints a user token with an app token: `POST /applications/{orgId}/users/{email}/token`.
 *
 * @example
 * const user = await mintAppUserToken({ appToken: app.accessToken, orgId, email });
 */
export async function mintAppUserToken(
  input: AppUserTokenInput,
  options: OAuthOptions = {},
): Promise<TokenSet> {
  const path = `/applications/${encodeURIComponent(input.orgId)}/users/${encodeURIComponent(input.email)}/token`;
  const clock = options.clock ?? Date.now;
  const obtainedMs = clock();
  const answer = await send(
    'app_user_token',
    'POST',
    apiEndpoint(options, path),
    undefined,
    input.appToken,
    [input.appToken],
    options,
  );
  const body =
    isRecord(answer.body) && answer.body.access_token === undefined && isRecord(answer.body.data)
      ? answer.body.data
      : answer.body;
  return toTokenSet('app_user_token', 'POST', path, body, obtainedMs, answer);
}

/**
 * Checks a personal access token with `GET /me`; resolves to the token's user. A rejected
 * token throws `OAuthError` `token_rejected` (expired, or its user logged out of the web app).
 *
 * @example
 * const me = await validatePersonalAccessToken(new Secret(pat));
 */
export async function validatePersonalAccessToken(
  pat: Secret,
  options: OAuthOptions = {},
): Promise<TallyfyUser> {
  const answer = await send(
    'personal_access_token',
    'GET',
    apiEndpoint(options, '/me'),
    undefined,
    pat,
    [pat],
    options,
  );
  const parsed = single(userSchema).safeParse(answer.body);
  if (!parsed.success) {
    throw new OAuthError(
      'TALLYFY_RESPONSE_INVALID',
      'personal_access_token',
      'Tallyfy accepted the personal access token but its GET /me answer has no user id.',
      {
        needsReauth: false,
        transient: false,
        method: 'GET',
        path: '/me',
        status: answer.status,
        requestId: answer.requestId,
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

/**
 * The grants bound to one set of options (what the refresher takes as its `grants` port). The
 * API client's settings fit as they are, retry policy included.
 *
 * @example
 * const oauth = tallyfyOAuth(tallyfyClientOptions(config.tallyfy));
 * const tokens = await oauth.refreshTokenGrant({ clientId, clientSecret, refreshToken });
 */
export function tallyfyOAuth(options: OAuthOptions = {}) {
  // an org's own token URL (its `tokenUrl`) replaces the deployment's for its grants
  const withUrl = (call?: GrantCallOptions): OAuthOptions =>
    call?.tokenUrl === undefined ? options : { ...options, tokenUrl: call.tokenUrl };
  return {
    passwordGrant: (input: PasswordGrantInput, call?: GrantCallOptions) =>
      passwordGrant(input, withUrl(call)),
    refreshTokenGrant: (input: RefreshTokenGrantInput, call?: GrantCallOptions) =>
      refreshTokenGrant(input, withUrl(call)),
    clientCredentialsGrant: (input: ClientCredentialsGrantInput, call?: GrantCallOptions) =>
      clientCredentialsGrant(input, withUrl(call)),
    mintAppUserToken: (input: AppUserTokenInput) => mintAppUserToken(input, options),
    validatePersonalAccessToken: (pat: Secret) => validatePersonalAccessToken(pat, options),
    /** The token URL the grants use without an override. */
    tokenUrl: () => resolveTokenUrl(options),
  };
}

/** Per-call options of the bound grants: an org's own token URL. */
export interface GrantCallOptions {
  tokenUrl?: string | undefined;
}

/**
 * The token endpoint of `options`: `tokenUrl`, else the one that goes with `baseUrl`.
 *
 * @throws TypeError when neither gives one (the API base is not a Tallyfy host and no token
 *   URL was configured): a deployment must say where its grants go
 */
export function resolveTokenUrl(options: Pick<OAuthOptions, 'baseUrl' | 'tokenUrl'>): string {
  const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
  const url = options.tokenUrl ?? defaultTokenUrl(baseUrl);
  if (url === undefined) {
    throw new TypeError(
      `No token URL: ${new URL(baseUrl).origin} is not a Tallyfy API host, so the token endpoint cannot be derived from it; set tokenUrl (TALLYFY_TOKEN_URL).`,
    );
  }
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`tokenUrl must be an http(s) URL, got protocol ${parsed.protocol}`);
  }
  return parsed.href;
}

/** What {@link probeTokenEndpoint} found at a token URL. */
export type TokenEndpointProbe =
  | {
      ok: true;
      tokenUrl: string;
      status: number;
      /** OAuth's `error` of the refusal (`unsupported_grant_type`, `invalid_request`…). */
      oauthError: string | undefined;
    }
  | {
      ok: false;
      tokenUrl: string;
      /** `network`: no answer; `not_oauth`: an answer, but not an OAuth token endpoint's. */
      reason: 'network' | 'not_oauth';
      status?: number | undefined;
      /** What went wrong, for a person (no secret: the probe sends none). */
      detail: string;
    };

/**
 * Checks that the token URL answers as an OAuth token endpoint, without credentials and without
 * spending anything: it posts an empty form, which a token endpoint refuses with an OAuth error
 * (`unsupported_grant_type` or `invalid_request`). A 404 page, an API route's 401
 * "Unauthenticated." or a success is not a token endpoint. One attempt, no retries.
 *
 * @example
 * const probe = await probeTokenEndpoint({ tokenUrl: 'https://account.tallyfy.com/oauth/token' });
 * if (!probe.ok) console.log(probe.detail);
 */
export async function probeTokenEndpoint(options: OAuthOptions = {}): Promise<TokenEndpointProbe> {
  const endpoint = tokenEndpoint(options);
  const tokenUrl = `${endpoint.origin}${endpoint.requestPath}`;
  try {
    const answer = await send('client_credentials', 'POST', endpoint, '', undefined, [], {
      ...options,
      retry: { ...options.retry, maxRetries: 0 },
    });
    return {
      ok: false,
      tokenUrl,
      reason: 'not_oauth',
      status: answer.status,
      detail: `${tokenUrl} accepted an empty token request (${answer.status}): it is not an OAuth token endpoint`,
    };
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    if (error.code === 'TALLYFY_NETWORK_ERROR') {
      return { ok: false, tokenUrl, reason: 'network', detail: error.message };
    }
    if (error.code === 'TALLYFY_OAUTH_ENDPOINT_INVALID' || error.status === undefined) {
      return {
        ok: false,
        tokenUrl,
        reason: 'not_oauth',
        status: error.status,
        detail: `${tokenUrl} answered ${error.status ?? 'without a status'} without an OAuth error: it is not an OAuth token endpoint`,
      };
    }
    if (error.status >= 500) {
      return {
        ok: false,
        tokenUrl,
        reason: 'network',
        status: error.status,
        detail: `${tokenUrl} failed with ${error.status}: try again later`,
      };
    }
    return { ok: true, tokenUrl, status: error.status, oauthError: error.oauthError };
  }
}

/**
 * Maps any error of a grant to what the refresher needs to decide; errors that are not
 * {@link OAuthError}s (a bug, an aborted call) count as transient.
 */
export function classifyGrantError(error: unknown): {
  code: string;
  message: string;
  needsReauth: boolean;
  refreshTokenRejected: boolean;
} {
  if (error instanceof OAuthError) {
    return {
      code: error.code,
      message: error.message,
      needsReauth: error.needsReauth,
      refreshTokenRejected: error.refreshTokenRejected,
    };
  }
  if (error instanceof TallyfyError) {
    return {
      code: error.code,
      message: error.message,
      needsReauth: false,
      refreshTokenRejected: false,
    };
  }
  return {
    code: 'TALLYFY_UNEXPECTED',
    message:
      error instanceof Error
        ? `${error.name}: unexpected failure during a grant`
        : 'unexpected failure during a grant',
    needsReauth: false,
    refreshTokenRejected: false,
  };
}

/** Where one call goes: an origin, the request path, and the path errors name. */
interface Endpoint {
  origin: string;
  /** The request path with any base path and query. */
  requestPath: string;
  /** The path errors and messages name (no query, no base path). */
  path: string;
  /** The token endpoint (grants), or an API call. */
  kind: 'token' | 'api';
}

function tokenEndpoint(options: OAuthOptions): Endpoint {
  const url = new URL(resolveTokenUrl(options));
  return {
    origin: url.origin,
    requestPath: `${url.pathname}${url.search}`,
    path: url.pathname,
    kind: 'token',
  };
}

function apiEndpoint(options: OAuthOptions, path: string): Endpoint {
  const url = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
  return {
    origin: url.origin,
    requestPath: url.pathname.replace(/\/+$/, '') + path,
    path,
    kind: 'api',
  };
}

async function tokenGrant(
  grant: GrantType,
  form: Record<string, string>,
  secrets: readonly Secret[],
  options: OAuthOptions,
): Promise<TokenSet> {
  const clock = options.clock ?? Date.now;
  const endpoint = tokenEndpoint(options);
  const obtainedMs = clock();
  const body = new URLSearchParams(form).toString();
  const answer = await send(grant, 'POST', endpoint, body, undefined, secrets, options);
  return toTokenSet(grant, 'POST', endpoint.path, answer.body, obtainedMs, answer);
}

function toTokenSet(
  grant: GrantType,
  method: string,
  path: string,
  body: unknown,
  obtainedMs: number,
  answer: Answer,
): TokenSet {
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
    throw new OAuthError(
      'TALLYFY_RESPONSE_INVALID',
      grant,
      `Tallyfy's token answer is missing or has malformed fields: ${fields.join(', ')}. Nothing was stored; ${grant === 'refresh_token' ? 'the refresh token may have been rotated already, so the next refresh may need the password grant' : 'try again'}.`,
      {
        needsReauth: false,
        transient: false,
        method,
        path,
        status: answer.status,
        requestId: answer.requestId,
        cause: parsed.error,
      },
    );
  }
  const t = parsed.data;
  return {
    accessToken: new Secret(t.access_token),
    tokenType: t.token_type,
    ...(t.refresh_token === undefined ? {} : { refreshToken: new Secret(t.refresh_token) }),
    expiresAt: new Date(obtainedMs + t.expires_in * 1000).toISOString(),
    obtainedAt: new Date(obtainedMs).toISOString(),
    expiresInSeconds: t.expires_in,
  };
}

interface Answer {
  status: number;
  body: unknown;
  requestId: string | undefined;
  attempts: number;
}

/**
 * One token-endpoint (or /applications, /me) call, retried as the API client's policy allows
 * ({@link retryAfter}): a POST only when Tallyfy refused it unprocessed (429) or it was never sent.
 */
async function send(
  grant: GrantType,
  method: 'GET' | 'POST',
  endpoint: Endpoint,
  form: string | undefined,
  bearer: Secret | undefined,
  secrets: readonly Secret[],
  options: OAuthOptions,
): Promise<Answer> {
  const { origin, path } = endpoint;
  const dispatcher =
    options.dispatcher ?? sharedDispatcher(origin, options.connectTimeoutMs ?? 5000);
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const policy = retryPolicy({ ...options.retry });
  const deadlineAt = clock() + policy.deadlineMs;
  const headersTimeoutMs = options.headersTimeoutMs ?? 15_000;
  const hidden = secrets.map((s) => s.reveal());
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-tallyfy-client': 'APIClient',
  };
  if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer.reveal()}`;
  const again = async (outcome: AttemptOutcome, attempts: number): Promise<boolean> => {
    const question = { method, outcome, retry: attempts, nowMs: clock(), deadlineAt };
    const decision = retryAfter(question, policy, random);
    if (decision === undefined) return false;
    await sleep(decision.delayMs);
    return true;
  };
  for (let attempts = 1; ; attempts++) {
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin,
        path: endpoint.requestPath,
        method,
        headers,
        body: form,
        headersTimeout: Math.max(1, Math.min(headersTimeoutMs, deadlineAt - clock())),
        bodyTimeout: options.bodyTimeoutMs ?? 15_000,
      });
    } catch (error) {
      const unsent = wasUnsent(error);
      if (await again({ unsent }, attempts)) continue;
      const failure = networkFailure(error);
      const why =
        method === 'POST' && !unsent
          ? 'Not retried: the request may have reached Tallyfy, and a repeated token request could spend a rotated refresh token'
          : `Gave up after ${attempts} attempt(s)`;
      throw new OAuthError(
        'TALLYFY_NETWORK_ERROR',
        grant,
        `No answer from Tallyfy for ${method} ${path} (${failure}). ${why}; check network access to ${origin}${endpoint.kind === 'token' ? " and the token URL (TALLYFY_TOKEN_URL, or the org's tokenUrl)" : ''}, the caller may try again later.`,
        {
          needsReauth: false,
          transient: true,
          method,
          path,
          attempts,
          cause: safeCause(error, hidden),
        },
      );
    }
    const requestId = headerValue(res.headers['x-request-id']);
    let text: string;
    try {
      text = await res.body.text();
    } catch (error) {
      throw new OAuthError(
        'TALLYFY_NETWORK_ERROR',
        grant,
        `Tallyfy's answer to ${method} ${path} was cut short.`,
        {
          needsReauth: false,
          transient: true,
          method,
          path,
          status: res.statusCode,
          requestId,
          attempts,
          cause: safeCause(error, hidden),
        },
      );
    }
    let body: unknown;
    try {
      body = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      // not JSON (a proxy's error page): the status decides, and nothing of it is quoted
      body = undefined;
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return { status: res.statusCode, body, requestId, attempts };
    }
    const retryAfterMs = parseRetryAfterMs(res.headers['retry-after'], clock());
    if (await again({ status: res.statusCode, retryAfterMs }, attempts)) continue;
    if (res.statusCode === 429) {
      throw new OAuthError(
        'TALLYFY_RATE_LIMITED',
        grant,
        `Tallyfy rate-limited ${method} ${path} (429) ${attempts} time(s); try again ${retryAfterMs === undefined ? 'later' : `in ${Math.ceil(retryAfterMs / 1000)} s`}.`,
        {
          needsReauth: false,
          transient: true,
          method,
          path,
          status: 429,
          requestId,
          retryAfterMs,
          attempts,
        },
      );
    }
    throw classifyFailure(
      grant,
      endpoint,
      method,
      res.statusCode,
      body,
      requestId,
      attempts,
      hidden,
    );
  }
}

function classifyFailure(
  grant: GrantType,
  endpoint: Endpoint,
  method: string,
  status: number,
  body: unknown,
  requestId: string | undefined,
  attempts: number,
  hidden: readonly string[],
): OAuthError {
  const path = endpoint.path;
  const parsed = errorBodySchema.safeParse(body);
  const fields = parsed.success ? parsed.data : {};
  const oauthError = fields.error;
  const described = fields.error_description ?? fields.message;
  const tallyfyMessage =
    described === undefined ? undefined : redact(described.slice(0, 300), hidden);
  const common = { method, path, status, requestId, attempts, oauthError, tallyfyMessage };
  const ref = requestId === undefined ? '' : ` (request id ${requestId})`;
  const reauth = (code: OAuthErrorCode, message: string) =>
    new OAuthError(code, grant, `${message}${ref}`, {
      ...common,
      needsReauth: true,
      transient: false,
    });

  if (status >= 500) {
    return new OAuthError(
      'TALLYFY_SERVER_ERROR',
      grant,
      `Tallyfy failed ${method} ${path} with ${status}${ref}. ${method === 'POST' ? 'Not retried (a repeated token request could spend a rotated refresh token)' : `Gave up after ${attempts} attempt(s)`}; try again later.`,
      { ...common, needsReauth: false, transient: true },
    );
  }
  if (grant === 'personal_access_token' || grant === 'app_user_token') {
    if (status === 401) {
      return grant === 'personal_access_token'
        ? reauth(
            'TALLYFY_OAUTH_TOKEN_REJECTED',
            'Tallyfy rejected the personal access token (401): it expired (they live 6 months) or its user logged out of the web app, which deletes it. Create a new one under Settings › Integrations › REST API and register it again.',
          )
        : reauth(
            'TALLYFY_OAUTH_TOKEN_REJECTED',
            'Tallyfy rejected the app token when minting a user token (401): get a new client-credentials token and check the app client is allowed to issue user tokens for this organisation.',
          );
    }
    if (status === 404) {
      return reauth(
        'TALLYFY_OAUTH_USER_NOT_FOUND',
        'Tallyfy knows no such user in this organisation (404): check the email address and organisation id.',
      );
    }
    if (status === 403) {
      return reauth(
        'TALLYFY_FORBIDDEN',
        `Tallyfy refused ${method} ${path} (403): the token may not act on this organisation.`,
      );
    }
    return reauth(
      'TALLYFY_OAUTH_REQUEST_INVALID',
      `Tallyfy rejected ${method} ${path} with ${status}${tallyfyMessage === undefined ? '' : `: "${tallyfyMessage}"`}.`,
    );
  }
  if (oauthError === undefined) {
    // Passport puts an OAuth `error` in every refusal; an answer without one (a 404 page, an API
    // route's 401 "Unauthenticated.") comes from something that is not a token endpoint: the
    // URL is wrong, not the credentials, so this never asks for re-authorisation
    return new OAuthError(
      'TALLYFY_OAUTH_ENDPOINT_INVALID',
      grant,
      `The token URL ${endpoint.origin}${path} answered ${status} without an OAuth error: it is not Tallyfy's token endpoint. Set TALLYFY_TOKEN_URL (or the org's tokenUrl) to the token endpoint, https://account.tallyfy.com/oauth/token for Tallyfy's production API; \`tallyfy-serverless doctor\` checks it.${ref}`,
      { ...common, needsReauth: false, transient: false },
    );
  }
  if (oauthError === 'invalid_client') {
    return reauth(
      'TALLYFY_OAUTH_CLIENT_INVALID',
      'Tallyfy rejected the OAuth client (invalid_client): check the client id (numeric) and client secret; Tallyfy Support issues and can confirm them.',
    );
  }
  const refreshInvalid =
    grant === 'refresh_token' &&
    (oauthError === 'invalid_grant' ||
      (oauthError === 'invalid_request' &&
        (status === 401 || /refresh token is invalid/i.test(described ?? ''))));
  if (refreshInvalid) {
    return reauth(
      'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED',
      `Tallyfy rejected the refresh token (${oauthError}${status === 401 ? ', 401' : ''}): it was already used (tokens rotate on every refresh), revoked or expired. Use the password grant if credentials are stored, otherwise register the organisation again.`,
    );
  }
  if (oauthError === 'invalid_grant' && grant === 'password') {
    return reauth(
      'TALLYFY_OAUTH_CREDENTIALS_INVALID',
      'Tallyfy rejected the username or password (invalid_grant): check them by signing in to Tallyfy; a changed password or a locked account also gives this.',
    );
  }
  if (oauthError === 'invalid_request') {
    return reauth(
      'TALLYFY_OAUTH_REQUEST_INVALID',
      `Tallyfy rejected the token request as incomplete (invalid_request)${tallyfyMessage === undefined ? '' : `: "${tallyfyMessage}"`}: every parameter of the grant must be present and the body form-encoded.`,
    );
  }
  if (oauthError === 'unsupported_grant_type' || oauthError === 'unauthorized_client') {
    return reauth(
      'TALLYFY_OAUTH_GRANT_UNSUPPORTED',
      `Tallyfy does not allow this grant (${grant}) for this client (${oauthError}): ask Tallyfy Support to enable it or use another auth mode.`,
    );
  }
  if (oauthError === 'invalid_scope') {
    return reauth(
      'TALLYFY_OAUTH_SCOPE_INVALID',
      'Tallyfy rejected the requested scope (invalid_scope): client-credentials grants ask for scope *.',
    );
  }
  return reauth(
    'TALLYFY_OAUTH_GRANT_REJECTED',
    `Tallyfy rejected the ${grant} grant with ${status}${oauthError === undefined ? '' : ` (${oauthError})`}${tallyfyMessage === undefined ? '' : `: "${tallyfyMessage}"`}.`,
  );
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
