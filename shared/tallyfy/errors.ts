/*
 * The Tallyfy client's errors: one family under TallyfyError, a stable `code` to branch on, and
 * one property, `kind`, that tells a caller what to do next:
 * - 'transient': try again later (429, 5xx, timeouts, resets) — `retryable` is true;
 * - 'auth': the token was rejected (401) — get a fresh token, then try again;
 * - 'permanent': the same request will fail the same way (403, 404, 422, other 4xx, bad data).
 * No secret reaches a message: requests carry the token only in a header we never copy, Tallyfy's
 * own messages and the causes we keep pass through `redact`, and causes are rebuilt as plain
 * errors (name, code, message, stack) so no undici internals ride along.
 */

/** What a caller should do about a failure. */
export type TallyfyErrorKind = 'transient' | 'auth' | 'permanent';

/** Every `code` of the family, the OAuth ones included (docs/errors.md says what each means). */
export const TALLYFY_ERROR_CODES = [
  'TALLYFY_UNAUTHORIZED',
  'TALLYFY_TOKEN_SCOPE_UNSUPPORTED',
  'TALLYFY_FORBIDDEN',
  'TALLYFY_NOT_FOUND',
  'TALLYFY_VALIDATION_FAILED',
  'TALLYFY_RATE_LIMITED',
  'TALLYFY_SERVER_ERROR',
  'TALLYFY_NETWORK_ERROR',
  'TALLYFY_REQUEST_REJECTED',
  'TALLYFY_RESPONSE_INVALID',
  'TALLYFY_DATE_INVALID',
  'TALLYFY_OAUTH_CLIENT_INVALID',
  'TALLYFY_OAUTH_CREDENTIALS_INVALID',
  'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED',
  'TALLYFY_OAUTH_TOKEN_REJECTED',
  'TALLYFY_OAUTH_USER_NOT_FOUND',
  'TALLYFY_OAUTH_REQUEST_INVALID',
  'TALLYFY_OAUTH_GRANT_UNSUPPORTED',
  'TALLYFY_OAUTH_SCOPE_INVALID',
  'TALLYFY_OAUTH_GRANT_REJECTED',
  'TALLYFY_OAUTH_ENDPOINT_INVALID',
] as const;

export type TallyfyErrorCode = (typeof TALLYFY_ERROR_CODES)[number];

export interface TallyfyErrorOptions {
  /** HTTP status of the answer, when there was one. */
  status?: number | undefined;
  /** HTTP method of the request. */
  method?: string | undefined;
  /** Path of the request below the base URL, without its query string. */
  path?: string | undefined;
  /** Tallyfy's own message (`message`, or OAuth's `error_description`), redacted. */
  tallyfyMessage?: string | undefined;
  /** `X-Request-Id` of the answer, to quote to Tallyfy Support. */
  requestId?: string | undefined;
  /** Attempts made, retries included. @default 1 */
  attempts?: number | undefined;
  cause?: unknown;
}

/** Base of the family. Branch on `kind` (or `retryable`) and `code`, never on the message. */
export class TallyfyError extends Error {
  override name = 'TallyfyError';
  readonly code: TallyfyErrorCode;
  readonly kind: TallyfyErrorKind;
  readonly status: number | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly tallyfyMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly attempts: number;

  constructor(
    code: TallyfyErrorCode,
    kind: TallyfyErrorKind,
    message: string,
    options: TallyfyErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = kind;
    this.status = options.status;
    this.method = options.method;
    this.path = options.path;
    this.tallyfyMessage = options.tallyfyMessage;
    this.requestId = options.requestId;
    this.attempts = options.attempts ?? 1;
  }

  /** True when the same call may succeed later without any change (`kind === 'transient'`). */
  get retryable(): boolean {
    return this.kind === 'transient';
  }

  /** A log-safe plain object (no cause objects, no headers, no bodies). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      kind: this.kind,
      message: this.message,
      status: this.status,
      method: this.method,
      path: this.path,
      tallyfyMessage: this.tallyfyMessage,
      requestId: this.requestId,
      attempts: this.attempts,
    };
  }
}

/** The documented causes of Tallyfy's 401 "Unauthenticated" (its API troubleshooting table). */
export const UNAUTHORIZED_HINT =
  'Likely causes: the token expired or was revoked (a personal access token dies when its user ' +
  'logs out of the web app); the X-Tallyfy-Client: APIClient header is missing; a ' +
  'client-credentials token was used on a user-scoped endpoint (templates, runs, tasks); the ' +
  'Authorization header is not exactly "Bearer <token>".';

/** 401: the token was rejected. Get a fresh token and try once more. */
export class TallyfyAuthError extends TallyfyError {
  override name = 'TallyfyAuthError';
  declare readonly code: 'TALLYFY_UNAUTHORIZED';
  /** The documented likely causes, to show a person. */
  readonly hint = UNAUTHORIZED_HINT;

  constructor(message: string, options: TallyfyErrorOptions = {}) {
    super('TALLYFY_UNAUTHORIZED', 'auth', `${message} ${UNAUTHORIZED_HINT}`, options);
  }
}

/**
 * What a client-credentials (app) token may call, as Tallyfy documents it: application
 * management (`/applications/…`: provisioning app users, minting user tokens), not user data.
 */
export const APP_SCOPE_HINT =
  "A client-credentials (app) token serves Tallyfy's application-management endpoints only " +
  '(/applications/…: app users, user tokens); templates, processes, tasks and /me need a user: ' +
  'register the org with --auth-mode app_user_token (the app mints a token for a named user) ' +
  'or password.';

/**
 * 401 on a user-scoped endpoint with an app (client-credentials) token: the token is fine, its
 * kind is wrong for this call. Permanent: a fresh app token is refused the same way, so it never
 * asks for a refresh, and an event that needs it is dead-lettered at once.
 */
export class TallyfyScopeError extends TallyfyError {
  override name = 'TallyfyScopeError';
  declare readonly code: 'TALLYFY_TOKEN_SCOPE_UNSUPPORTED';
  /** What an app token may call, and which auth mode serves this call. */
  readonly hint = APP_SCOPE_HINT;

  constructor(message: string, options: TallyfyErrorOptions = {}) {
    super('TALLYFY_TOKEN_SCOPE_UNSUPPORTED', 'permanent', `${message} ${APP_SCOPE_HINT}`, options);
  }
}

/** 403: the token's user may not do this (e.g. an org-admin-only call, or another org). */
export class TallyfyForbiddenError extends TallyfyError {
  override name = 'TallyfyForbiddenError';
  declare readonly code: 'TALLYFY_FORBIDDEN';
  constructor(message: string, options: TallyfyErrorOptions = {}) {
    super('TALLYFY_FORBIDDEN', 'permanent', message, options);
  }
}

/** 404: no such organisation, template, run, task or watcher (or not visible to this user). */
export class TallyfyNotFoundError extends TallyfyError {
  override name = 'TallyfyNotFoundError';
  declare readonly code: 'TALLYFY_NOT_FOUND';
  constructor(message: string, options: TallyfyErrorOptions = {}) {
    super('TALLYFY_NOT_FOUND', 'permanent', message, options);
  }
}

/** Field name → Tallyfy's messages for it (Laravel's 422 `errors`). */
export type FieldErrors = Readonly<Record<string, readonly string[]>>;

/** 422: Tallyfy refused the input; `fieldErrors` says which field and why. */
export class TallyfyValidationError extends TallyfyError {
  override name = 'TallyfyValidationError';
  declare readonly code: 'TALLYFY_VALIDATION_FAILED';
  readonly fieldErrors: FieldErrors;
  constructor(message: string, fieldErrors: FieldErrors, options: TallyfyErrorOptions = {}) {
    super('TALLYFY_VALIDATION_FAILED', 'permanent', message, options);
    this.fieldErrors = fieldErrors;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), fieldErrors: this.fieldErrors };
  }
}

/**
 * How long to wait after a per-org action cap (`RATE_LIMIT_EXCEEDED`) that came without a
 * `Retry-After`: the caps are hourly (120 comments, 30 guest invites per org and hour), so a
 * retry within seconds only earns another 429.
 */
export const ACTION_CAP_RETRY_AFTER_MS = 15 * 60_000;

/**
 * 429: Tallyfy refused the call unprocessed. A delay, never a permanent failure: wait
 * `retryAfterMs` and try again. The client waits a `Retry-After` of up to its cap itself (30 s by
 * default) and throws this when its retries are spent or Tallyfy asked for longer: then
 * `retryAfterMs` is the full wait Tallyfy asked for (uncapped), for the caller to honour (the
 * worker defers the message for that long, without using a receive; the reporter and reconciler wait or stop).
 */
export class TallyfyRateLimitError extends TallyfyError {
  override name = 'TallyfyRateLimitError';
  declare readonly code: 'TALLYFY_RATE_LIMITED';
  /**
   * How long Tallyfy asked to wait (its `Retry-After`, uncapped), in ms; for an action cap
   * without `Retry-After`, {@link ACTION_CAP_RETRY_AFTER_MS}; `undefined` when Tallyfy said
   * nothing (a per-minute limit without the header: back off as usual).
   */
  readonly retryAfterMs: number | undefined;
  /**
   * Tallyfy's body said `code: "RATE_LIMIT_EXCEEDED"`: a per-org hourly cap on an action
   * (comments, guest invites), not the per-minute request limit.
   */
  readonly actionCap: boolean;
  constructor(
    message: string,
    retryAfterMs: number | undefined,
    options: TallyfyErrorOptions & { actionCap?: boolean | undefined },
  ) {
    super('TALLYFY_RATE_LIMITED', 'transient', message, options);
    this.retryAfterMs = retryAfterMs;
    this.actionCap = options.actionCap ?? false;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs, actionCap: this.actionCap };
  }
}

/** 5xx. Transient; a non-idempotent call (POST) was not retried because it may have happened. */
export class TallyfyServerError extends TallyfyError {
  override name = 'TallyfyServerError';
  declare readonly code: 'TALLYFY_SERVER_ERROR';
  constructor(message: string, options: TallyfyErrorOptions) {
    super('TALLYFY_SERVER_ERROR', 'transient', message, options);
  }
}

/** Why a request got no answer. */
export type NetworkFailure = 'timeout' | 'reset' | 'dns' | 'refused' | 'other';

/** No answer: connect/headers/body timeout, connection reset, DNS failure, refused. */
export class TallyfyNetworkError extends TallyfyError {
  override name = 'TallyfyNetworkError';
  declare readonly code: 'TALLYFY_NETWORK_ERROR';
  readonly failure: NetworkFailure;
  constructor(message: string, failure: NetworkFailure, options: TallyfyErrorOptions) {
    super('TALLYFY_NETWORK_ERROR', 'transient', message, options);
    this.failure = failure;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failure: this.failure };
  }
}

/** Another 4xx (400, 405, 409, 410…): the request itself is wrong. */
export class TallyfyRequestError extends TallyfyError {
  override name = 'TallyfyRequestError';
  declare readonly code: 'TALLYFY_REQUEST_REJECTED';
  constructor(message: string, options: TallyfyErrorOptions) {
    super('TALLYFY_REQUEST_REJECTED', 'permanent', message, options);
  }
}

/** A 2xx whose body is not JSON or lacks a field we rely on (cause: the zod error). */
export class TallyfyResponseError extends TallyfyError {
  override name = 'TallyfyResponseError';
  declare readonly code: 'TALLYFY_RESPONSE_INVALID';
  constructor(message: string, options: TallyfyErrorOptions) {
    super('TALLYFY_RESPONSE_INVALID', 'permanent', message, options);
  }
}

/** A date string in neither of Tallyfy's forms (ISO 8601, `d/m/Y h:i A T`). */
export class TallyfyDateError extends TallyfyError {
  override name = 'TallyfyDateError';
  declare readonly code: 'TALLYFY_DATE_INVALID';
  constructor(message: string) {
    super('TALLYFY_DATE_INVALID', 'permanent', message);
  }
}

/** Replaces every occurrence of each secret value in `text` with `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const value of secrets) {
    if (value.length >= 4 && out.includes(value)) out = out.split(value).join('[redacted]');
  }
  return out;
}

/**
 * Rebuilds an underlying error (undici's, a socket's) as a plain Error holding only its name,
 * `code`, redacted message and stack, and the same for its own cause: nothing else it carried
 * (sockets, headers, bodies) can reach a log through `util.inspect`.
 */
export function safeCause(error: unknown, secrets: readonly string[], depth = 0): Error {
  if (!(error instanceof Error)) return new Error(redact(String(error), secrets));
  const copy = new Error(redact(error.message, secrets));
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.defineProperty(copy, 'code', { value: code });
  copy.stack = redact(error.stack ?? `${error.name}: ${error.message}`, secrets);
  if (error.cause !== undefined && depth < 4) {
    Object.defineProperty(copy, 'cause', {
      value: safeCause(error.cause, secrets, depth + 1),
      enumerable: false,
    });
  }
  return copy;
}
