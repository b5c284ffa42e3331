/**
 * How an action failure is handled: retry the message or dead-letter it, and whether the side
 * effect certainly did not happen (then the attempt is withdrawn with `abandonAction`, so the
 * retry runs as a first attempt instead of an attempt in doubt).
 */

import { errorCodeOf } from '../error-codes.ts';
import {
  OAuthError,
  TallyfyError,
  TallyfyNetworkError,
  TallyfyRateLimitError,
} from '../tallyfy/index.ts';
import { AUTOMATIONS_UNEXPECTED, AutomationError, type HttpPostErrorCode } from './errors.ts';

/** What a failed attempt means. */
export interface FailureClass {
  /** The failure's code, for logs, metrics and the DLQ `failureCode` attribute. */
  code: string;
  /** The message may succeed on a later receive. */
  retryable: boolean;
  /** The request was refused before anything happened (no side effect to look for). */
  notDone: boolean;
  /**
   * How long the service asked to wait (`Retry-After`, uncapped; for a Tallyfy action cap
   * without one, the client's assumed wait).
   */
  retryAfterMs?: number | undefined;
  /**
   * A rate limit (429, Tallyfy's per-minute limit or an hourly action cap `RATE_LIMIT_EXCEEDED`):
   * a delay, not a failure of the event. Retrying before `retryAfterMs` only earns another 429.
   */
  rateLimited: boolean;
}

/** An `http_post` answered with a status (or not at all). */
export class HttpPostError extends Error {
  readonly code: HttpPostErrorCode;
  readonly status: number | undefined;
  readonly failure: 'status' | 'refused' | 'timeout' | 'network';
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: {
      status?: number;
      failure: 'status' | 'refused' | 'timeout' | 'network';
      retryAfterMs?: number | undefined;
      cause?: unknown;
    },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpPostError';
    this.code = HTTP_POST_CODES[options.failure];
    this.status = options.status;
    this.failure = options.failure;
    this.retryAfterMs = options.retryAfterMs;
  }
}

const HTTP_POST_CODES = {
  status: 'AUTOMATIONS_HTTP_POST_REJECTED',
  refused: 'AUTOMATIONS_HTTP_POST_REFUSED',
  timeout: 'AUTOMATIONS_HTTP_POST_TIMED_OUT',
  network: 'AUTOMATIONS_HTTP_POST_FAILED',
} as const satisfies Record<HttpPostError['failure'], HttpPostErrorCode>;

/**
 * 429 and 503 are refusals before processing (rate limiter, maintenance mode, no healthy
 * upstream); other 4xx are refusals of the request itself. 500, 502, 504, timeouts and resets
 * may come after the work was done: the outcome is unknown.
 */
const refusedStatus = (status: number | undefined): boolean =>
  status !== undefined && ((status >= 400 && status < 500 && status !== 408) || status === 503);

/**
 * Classifies any error thrown while running an action.
 *
 * @example classifyFailure(new TallyfyNotFoundError('…')) // { code: 'TALLYFY_NOT_FOUND', retryable: false, notDone: true }
 */
export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof TallyfyError) {
    const retryAfterMs =
      error instanceof TallyfyRateLimitError || error instanceof OAuthError
        ? error.retryAfterMs
        : undefined;
    const connectFailed =
      error instanceof TallyfyNetworkError &&
      (error.failure === 'refused' || error.failure === 'dns');
    return {
      code: error.code,
      // 401 after the provider's re-read and refresh request: the token may be replaced soon;
      // an org whose credentials are dead turns needs_reauth and is dead-lettered then
      retryable: error.kind !== 'permanent',
      notDone: connectFailed || refusedStatus(error.status),
      retryAfterMs,
      rateLimited: error.code === 'TALLYFY_RATE_LIMITED',
    };
  }
  if (error instanceof HttpPostError) {
    const status = error.status;
    const retryable =
      error.failure !== 'status' ||
      status === undefined ||
      status >= 500 ||
      status === 408 ||
      status === 429;
    return {
      code: error.code,
      retryable,
      notDone: error.failure === 'refused' || refusedStatus(status),
      retryAfterMs: error.retryAfterMs,
      rateLimited: status === 429,
    };
  }
  if (error instanceof AutomationError) {
    return {
      code: error.code,
      retryable: error.retryable,
      notDone: true,
      retryAfterMs: error.retryAfterMs,
      rateLimited: error.rateLimited,
    };
  }
  // anything else (a DynamoDB or SDK failure, a bug): retry, and presume the effect may exist
  return {
    code: errorCodeOf(error, AUTOMATIONS_UNEXPECTED),
    retryable: true,
    notDone: false,
    rateLimited: false,
  };
}
