import type { Dispatcher } from 'undici';
import type * as z from 'zod';
import { sleep as defaultSleep } from '../async.ts';
import { Secret } from '../secret.ts';
import {
  ACTION_CAP_RETRY_AFTER_MS,
  type FieldErrors,
  type NetworkFailure,
  redact,
  safeCause,
  TallyfyAuthError,
  type TallyfyError,
  type TallyfyErrorOptions,
  TallyfyForbiddenError,
  TallyfyNetworkError,
  TallyfyNotFoundError,
  TallyfyRateLimitError,
  TallyfyRequestError,
  TallyfyResponseError,
  TallyfyScopeError,
  TallyfyServerError,
  TallyfyValidationError,
} from './errors.ts';
import type { RequestPacer } from './pacing.ts';
import { type PageOptions, paginate, type TallyfyPage } from './pagination.ts';
import {
  type AttemptOutcome,
  type ClientStats,
  emptyStats,
  isIdempotent,
  parseRetryAfterMs,
  type RetryEvent,
  type RetryPolicy,
  type RetryReason,
  retryAfter,
  retryPolicy,
} from './retry.ts';
import { Pool } from './undici-pool.ts';

/** Tallyfy's documented API base. */
export const DEFAULT_BASE_URL = 'https://go.tallyfy.com/api';

/**
 * What a token may call: `app` for a client-credentials token (application management only),
 * `user` for a token that speaks for a user (password, app user token, personal access token).
 */
export type TokenScope = 'app' | 'user';

/**
 * Tallyfy's application-management endpoints, the only ones an app token serves
 * (`POST /applications/{org}/users`, `…/users/{email}/token`).
 */
export function isAppManagementPath(path: string): boolean {
  return path === '/applications' || path.startsWith('/applications/');
}

/**
 * How the client gets its bearer token: the auth port. The worker's token provider implements
 * `onUnauthorized` (drop its cache, re-read the token secret, ask for a refresh).
 */
export interface TallyfyAuth {
  getToken(): Promise<Secret>;
  /**
   * The scope of a token this port handed out, when it knows it. A 401 on a user-scoped
   * endpoint with an `app` token is a {@link TallyfyScopeError}, and `onUnauthorized` is not
   * called: a refresh would mint another app token, refused the same way.
   */
  scopeOf?(token: Secret): TokenScope | undefined;
  /**
   * Called after a 401 with the token Tallyfy rejected. Resolve `true` when a different token
   * is now available: the client then retries the request once with a fresh `getToken()`
   * (safe for POST too: a 401 was refused before anything happened).
   */
  onUnauthorized?(rejected: Secret): Promise<boolean>;
}

/** Options of {@link createTallyfyClient}; all but `auth` have defaults. */
export interface TallyfyClientOptions {
  auth: TallyfyAuth;
  /** API base URL. @default 'https://go.tallyfy.com/api' */
  baseUrl?: string;
  /**
   * The undici dispatcher. @default one keep-alive `Pool` per origin, shared by every client in
   * the process (see {@link sharedDispatcher})
   */
  dispatcher?: Dispatcher;
  /** TCP+TLS connect timeout of the shared pool (ignored with `dispatcher`). @default 5000 */
  connectTimeoutMs?: number;
  /** Per attempt: time to the response headers. @default 15000 */
  headersTimeoutMs?: number;
  /** Per attempt: longest silence while reading the body. @default 15000 */
  bodyTimeoutMs?: number;
  /** Retry policy; fields not given keep their defaults (`DEFAULT_RETRY_POLICY`, retry.ts). */
  retry?: Partial<RetryPolicy>;
  /** Called before each retry (reporting counts retries). */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Gates every attempt (retries included): the org's request budget
   * (`sharedOrgPacer(orgId, TALLYFY_REQUESTS_PER_MINUTE)`). Time spent waiting for it does not
   * count against the call's deadline. @default none
   */
  pacer?: RequestPacer;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** In [0, 1), for jitter. @default Math.random */
  random?: () => number;
  /** Waits between attempts. @default `sleep` of shared/async.ts */
  sleep?: (ms: number) => Promise<void>;
}

/** Query parameters; `undefined` values are left out, arrays are joined with commas. */
export type Query = Readonly<
  Record<string, string | number | boolean | readonly (string | number)[] | undefined>
>;

export interface RequestOptions<T> {
  query?: Query | undefined;
  /** Sent as JSON; `Secret` values inside are sent revealed and redacted from any error. */
  body?: unknown;
  /** Validates the parsed body; the result is what the call returns. */
  schema?: z.ZodType<T> | undefined;
}

/** A successful answer. */
export interface TallyfyResponse<T> {
  status: number;
  data: T;
  requestId: string | undefined;
  /** HTTP attempts this call took (1 + retries). */
  attempts: number;
}

const pools = new Map<string, Pool>();

/**
 * The process-wide keep-alive pool for an origin: every client (and the OAuth functions) for
 * that origin share its connections, so a warm Lambda container reuses them across invocations.
 */
export function sharedDispatcher(origin: string, connectTimeoutMs = 5000): Dispatcher {
  const key = `${origin} ${connectTimeoutMs}`;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new Pool(origin, {
      connect: { timeout: connectTimeoutMs },
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
    });
    pools.set(key, pool);
  }
  return pool;
}

/** Closes the shared pools (tests, graceful shutdown of local mode). */
export async function closeSharedDispatchers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((pool) => pool.close()));
}

/**
 * Creates a Tallyfy API client: headers, timeouts, retries, 401 refresh and typed errors.
 *
 * @example
 * const client = createTallyfyClient({ auth: staticToken(new Secret(pat)) });
 * const { data } = await client.request('GET', '/me');
 */
export function createTallyfyClient(options: TallyfyClientOptions): TallyfyClient {
  return new TallyfyClient(options);
}

/** Low-level client; {@link TallyfyApi} builds the typed operations on it. */
export class TallyfyClient {
  readonly baseUrl: string;
  /** Counters since creation; read them, do not write. */
  readonly stats: ClientStats = emptyStats();
  readonly #origin: string;
  readonly #basePath: string;
  readonly #auth: TallyfyAuth;
  readonly #dispatcher: Dispatcher;
  readonly #headersTimeoutMs: number;
  readonly #bodyTimeoutMs: number;
  readonly #policy: RetryPolicy;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #pacer: RequestPacer | undefined;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: TallyfyClientOptions) {
    const url = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError(`baseUrl must be an http(s) URL, got protocol ${url.protocol}`);
    }
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#auth = options.auth;
    this.#dispatcher =
      options.dispatcher ?? sharedDispatcher(url.origin, options.connectTimeoutMs ?? 5000);
    this.#headersTimeoutMs = positive('headersTimeoutMs', options.headersTimeoutMs ?? 15_000);
    this.#bodyTimeoutMs = positive('bodyTimeoutMs', options.bodyTimeoutMs ?? 15_000);
    this.#policy = retryPolicy(options.retry);
    this.#onRetry = options.onRetry;
    this.#pacer = options.pacer;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** GET returning the validated body. */
  async get<T = unknown>(path: string, options: RequestOptions<T> = {}): Promise<T> {
    return (await this.request<T>('GET', path, options)).data;
  }

  /** POST returning the validated body. Never retried on 5xx or lost connections. */
  async post<T = unknown>(path: string, options: RequestOptions<T> = {}): Promise<T> {
    return (await this.request<T>('POST', path, options)).data;
  }

  /** DELETE returning the validated body (often none: `undefined`). */
  async delete<T = unknown>(path: string, options: RequestOptions<T> = {}): Promise<T> {
    return (await this.request<T>('DELETE', path, options)).data;
  }

  /**
   * Pages of a list endpoint (`page`, `per_page`, `meta.pagination`), one request each.
   *
   * @example
   * for await (const page of client.pages('/organizations/o1/runs')) console.log(page.data.length);
   */
  pages<T = unknown>(
    path: string,
    query: Query = {},
    options: PageOptions<T> = {},
  ): AsyncGenerator<TallyfyPage<T>> {
    return paginate(this, path, query, options);
  }

  /**
   * One call: sends, retries as the policy allows, and either returns the (validated) body or
   * throws a {@link TallyfyError}.
   */
  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions<T> = {},
  ): Promise<TallyfyResponse<T>> {
    const startedAt = this.#clock();
    let deadlineAt = startedAt + this.#policy.deadlineMs;
    const fullPath = this.#basePath + path + queryString(options.query);
    // Secrets in the body (a webhook URL) are revealed on the wire only, and redacted from errors
    const bodySecrets: string[] = [];
    const body = options.body === undefined ? undefined : toJsonBody(options.body, bodySecrets);
    this.stats.requests++;
    let attempts = 0;
    let retries = 0;
    let refreshed = false;
    for (;;) {
      if (this.#pacer !== undefined) {
        // queueing behind the org's budget is not time spent on Tallyfy: the deadline moves
        const waitedMs = await this.#pacer.acquire();
        if (waitedMs > 0) {
          deadlineAt += waitedMs;
          this.stats.paced++;
          this.stats.pacedMs += waitedMs;
        }
      }
      attempts++;
      this.stats.attempts++;
      const token = await this.#auth.getToken();
      const revealed = token.reveal();
      const headers: Record<string, string> = {
        authorization: `Bearer ${revealed}`,
        accept: 'application/json',
        'x-tallyfy-client': 'APIClient',
      };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const remainingMs = deadlineAt - this.#clock();
      let res: Dispatcher.ResponseData;
      try {
        res = await this.#dispatcher.request({
          origin: this.#origin,
          path: fullPath,
          method: method as Dispatcher.HttpMethod,
          headers,
          body,
          headersTimeout: Math.max(1, Math.min(this.#headersTimeoutMs, remainingMs)),
          bodyTimeout: this.#bodyTimeoutMs,
        });
      } catch (error) {
        if (isInvalidArgument(error)) {
          // a bad path or header is a bug of the caller, not a network failure: never retried
          throw new TypeError(`Invalid Tallyfy request ${method} ${path}: ${errorMessage(error)}`);
        }
        const failure = networkFailure(error);
        const err = new TallyfyNetworkError(
          `No answer from Tallyfy for ${method} ${path} (${failure}): ${redact(errorMessage(error), [revealed, ...bodySecrets])}`,
          failure,
          { method, path, attempts, cause: safeCause(error, [revealed, ...bodySecrets]) },
        );
        const outcome = { unsent: wasUnsent(error) };
        if (await this.#retry(err, outcome, ++retries, attempts, deadlineAt)) continue;
        throw err;
      }
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        return this.#success(res, method, path, options.schema, attempts);
      }
      if (status === 401 && this.#auth.scopeOf?.(token) === 'app' && !isAppManagementPath(path)) {
        throw await this.#scopeFailure(res, method, path, attempts, [revealed, ...bodySecrets]);
      }
      const err = await this.#failure(res, method, path, attempts, [revealed, ...bodySecrets]);
      if (status === 401) {
        if (!refreshed && this.#auth.onUnauthorized && (await this.#auth.onUnauthorized(token))) {
          refreshed = true;
          this.#count('unauthorized');
          this.#onRetry?.({
            method,
            path,
            retry: attempts,
            reason: 'unauthorized',
            status,
            delayMs: 0,
          });
          continue;
        }
        throw err;
      }
      // a 429's wait is the error's: Retry-After, or the assumed wait of an hourly action cap
      const retryAfterMs =
        err instanceof TallyfyRateLimitError
          ? err.retryAfterMs
          : parseRetryAfterMs(res.headers['retry-after'], this.#clock());
      if (await this.#retry(err, { status, retryAfterMs }, ++retries, attempts, deadlineAt)) {
        continue;
      }
      throw err;
    }
  }

  /**
   * Waits before a retry when the policy ({@link retryAfter}) and the call's deadline allow;
   * false otherwise. `retry` numbers the transient retries (budget and backoff), `attempts` all
   * attempts so far.
   */
  async #retry(
    err: TallyfyError,
    outcome: AttemptOutcome,
    retry: number,
    attempts: number,
    deadlineAt: number,
  ): Promise<boolean> {
    const method = err.method ?? '';
    const question = { method, outcome, retry, nowMs: this.#clock(), deadlineAt };
    const decision = retryAfter(question, this.#policy, this.#random);
    if (decision === undefined) return false;
    const { reason, delayMs } = decision;
    this.#count(reason);
    this.#onRetry?.({
      method: err.method ?? '',
      path: err.path ?? '',
      retry: attempts,
      reason,
      status: err.status,
      delayMs,
    });
    await this.#sleep(delayMs);
    return true;
  }

  #count(reason: RetryReason): void {
    this.stats.retries++;
    this.stats.retriesByReason[reason]++;
  }

  async #success<T>(
    res: Dispatcher.ResponseData,
    method: string,
    path: string,
    schema: z.ZodType<T> | undefined,
    attempts: number,
  ): Promise<TallyfyResponse<T>> {
    const requestId = header(res.headers, 'x-request-id');
    const text = await res.body.text();
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new TallyfyResponseError(
          `Tallyfy answered ${method} ${path} with a body that is not JSON.`,
          {
            status: res.statusCode,
            method,
            path,
            requestId,
            attempts,
            cause: safeCause(error, []),
          },
        );
      }
    }
    if (schema === undefined)
      return { status: res.statusCode, data: parsed as T, requestId, attempts };
    const result = schema.safeParse(parsed);
    if (!result.success) {
      const issues = result.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new TallyfyResponseError(
        `Tallyfy's answer to ${method} ${path} lacks fields the client relies on: ${issues}.`,
        { status: res.statusCode, method, path, requestId, attempts, cause: result.error },
      );
    }
    return { status: res.statusCode, data: result.data, requestId, attempts };
  }

  async #scopeFailure(
    res: Dispatcher.ResponseData,
    method: string,
    path: string,
    attempts: number,
    secrets: readonly string[],
  ): Promise<TallyfyScopeError> {
    const requestId = header(res.headers, 'x-request-id');
    const { message } = await readErrorBody(res.body, secrets);
    const ref = requestId === undefined ? '' : ` (request id ${requestId})`;
    return new TallyfyScopeError(
      `Tallyfy refused ${method} ${path} (401) to a client-credentials (app) token: the endpoint needs a user token${ref}.`,
      { status: 401, method, path, requestId, attempts, tallyfyMessage: message },
    );
  }

  async #failure(
    res: Dispatcher.ResponseData,
    method: string,
    path: string,
    attempts: number,
    secrets: readonly string[],
  ): Promise<TallyfyError> {
    const status = res.statusCode;
    const requestId = header(res.headers, 'x-request-id');
    const { message, fieldErrors, code } = await readErrorBody(res.body, secrets);
    const options: TallyfyErrorOptions = {
      status,
      method,
      path,
      requestId,
      attempts,
      tallyfyMessage: message,
    };
    const said = message === undefined ? '' : `: "${message}"`;
    const at = `${method} ${path}`;
    const ref = requestId === undefined ? '' : ` (request id ${requestId})`;
    if (status === 401) {
      return new TallyfyAuthError(
        `Tallyfy rejected the token for ${at} with 401${said}${ref}.`,
        options,
      );
    }
    if (status === 403) {
      return new TallyfyForbiddenError(
        `Tallyfy refused ${at} with 403${said}${ref}: the token's user lacks permission here (org admin only, or not a member of this organisation).`,
        options,
      );
    }
    if (status === 404) {
      return new TallyfyNotFoundError(
        `Tallyfy found nothing at ${at} (404)${said}${ref}: check the organisation and object ids.`,
        options,
      );
    }
    if (status === 422) {
      const fields = Object.keys(fieldErrors);
      const which = fields.length > 0 ? ` Fields: ${fields.join(', ')}.` : '';
      return new TallyfyValidationError(
        `Tallyfy refused the input of ${at} (422)${said}${ref}.${which}`,
        fieldErrors,
        options,
      );
    }
    if (status === 429) {
      const actionCap = code === 'RATE_LIMIT_EXCEEDED';
      const said = parseRetryAfterMs(res.headers['retry-after'], this.#clock());
      const retryAfterMs = said ?? (actionCap ? ACTION_CAP_RETRY_AFTER_MS : undefined);
      const why = actionCap
        ? ` The org reached an hourly cap on this action (RATE_LIMIT_EXCEEDED)${said === undefined ? '; Tallyfy sent no Retry-After' : ''}.`
        : '';
      const wait =
        retryAfterMs === undefined ? '' : ` Retry after ${Math.ceil(retryAfterMs / 1000)} s.`;
      return new TallyfyRateLimitError(
        `Tallyfy rate-limited ${at} (429) after ${attempts} attempt(s)${ref}.${why}${wait}`,
        retryAfterMs,
        { ...options, actionCap },
      );
    }
    if (status >= 500) {
      const why = isIdempotent(method)
        ? `after ${attempts} attempt(s)`
        : 'and it was not retried: a POST may have taken effect';
      return new TallyfyServerError(
        `Tallyfy failed ${at} with ${status} ${why}${said}${ref}.`,
        options,
      );
    }
    return new TallyfyRequestError(`Tallyfy rejected ${at} with ${status}${said}${ref}.`, options);
  }
}

/** JSON of a request body; `Secret` values are written revealed and collected in `secrets`. */
function toJsonBody(body: unknown, secrets: string[]): string {
  return JSON.stringify(body, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    if (raw instanceof Secret) {
      const revealed = raw.reveal();
      secrets.push(revealed);
      return revealed;
    }
    return value;
  });
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new RangeError(`${name} must be > 0, got ${value}`);
  return value;
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.append(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = params.toString();
  return text.length === 0 ? '' : `?${text}`;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isInvalidArgument(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG';
}

/** A connection that was never made (refused, DNS, connect timeout) carried nothing. */
export function wasUnsent(error: unknown): boolean {
  const failure = networkFailure(error);
  const code = (error as { code?: unknown } | null)?.code;
  return failure === 'refused' || failure === 'dns' || code === 'UND_ERR_CONNECT_TIMEOUT';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Largest error body read (Tallyfy's are a few hundred bytes; a proxy's HTML page is not). */
const MAX_ERROR_BODY_CHARS = 16_384;

async function readErrorBody(
  body: Dispatcher.ResponseData['body'],
  secrets: readonly string[],
): Promise<{ message: string | undefined; fieldErrors: FieldErrors; code?: string | undefined }> {
  let text: string;
  try {
    text = await body.text();
  } catch {
    // the status already says what failed; a body cut short adds nothing a caller can act on
    return { message: undefined, fieldErrors: {} };
  }
  let json: unknown;
  try {
    json = JSON.parse(text.slice(0, MAX_ERROR_BODY_CHARS));
  } catch {
    // not JSON (a proxy's HTML page): the status says what failed, and the page is not quoted
    return { message: undefined, fieldErrors: {} };
  }
  if (typeof json !== 'object' || json === null) return { message: undefined, fieldErrors: {} };
  const record = json as Record<string, unknown>;
  // Tallyfy's own machine-readable code (`RATE_LIMIT_EXCEEDED`), kept only when it looks like one
  const code =
    typeof record.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(record.code)
      ? record.code
      : undefined;
  const raw = [record.message, record.error_description, record.error].find(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
  const fieldErrors: Record<string, string[]> = {};
  if (typeof record.errors === 'object' && record.errors !== null) {
    for (const [field, messages] of Object.entries(record.errors)) {
      const list = Array.isArray(messages) ? messages : [messages];
      fieldErrors[field] = list
        .filter((m): m is string => typeof m === 'string')
        .map((m) => redact(m, secrets));
    }
  }
  return {
    message: raw === undefined ? undefined : redact(raw.slice(0, 500), secrets),
    fieldErrors,
    code,
  };
}

/** Sorts undici's and Node's network error codes into what a person can check. */
export function networkFailure(error: unknown): NetworkFailure {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'ECONNREFUSED':
      return 'refused';
    default:
      return 'other';
  }
}
