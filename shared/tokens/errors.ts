/**
 * The token store's and token provider's errors: one family, a stable `code` to branch on, a
 * message that says what to do, and never a secret value (not in the message, not in `cause`:
 * a JSON parse error or a schema issue can quote the input, so neither is kept as the cause).
 */

/**
 * Every code of the family (docs/errors.md says what each means and what to do):
 * - `TOKENS_SECRET_NOT_FOUND`: the secret (or the requested version/stage of it) does not exist;
 * - `TOKENS_SECRET_MALFORMED`: the secret exists but its JSON does not match the schema;
 * - `TOKENS_VALUE_INVALID`: a value handed to a write does not match the schema (a caller's bug);
 * - `TOKENS_SECRET_DELETED`: the secret is marked for deletion (reads and writes are refused);
 * - `TOKENS_VERSION_CONFLICT`: the same ClientRequestToken was used before with another value;
 * - `TOKENS_SECRET_ALREADY_EXISTS`: createOrgSecrets found other credentials stored;
 * - `TOKENS_SECRETS_MANAGER_THROTTLED`: still throttled after the SDK's bounded retries;
 * - `TOKENS_SECRETS_MANAGER_FAILED`: any other Secrets Manager failure (see `cause`);
 * - `TOKENS_TOKEN_EXPIRED`: the stored token expired and a refresh request did not replace it;
 * - `TOKENS_TOKEN_MISSING`: the org has no token yet and a refresh request did not produce one;
 * - `TOKENS_CREDENTIALS_INCOMPLETE`: the stored credentials cannot mint a token at all;
 * - `TOKENS_CREDENTIALS_STALE`: Secrets Manager served credentials older than the org records;
 * - `TOKENS_REFRESH_REQUEST_FAILED`: a refresh request could not be handed to the refresher.
 */
export const TOKENS_ERROR_CODES = [
  'TOKENS_SECRET_NOT_FOUND',
  'TOKENS_SECRET_MALFORMED',
  'TOKENS_VALUE_INVALID',
  'TOKENS_SECRET_DELETED',
  'TOKENS_VERSION_CONFLICT',
  'TOKENS_SECRET_ALREADY_EXISTS',
  'TOKENS_SECRETS_MANAGER_THROTTLED',
  'TOKENS_SECRETS_MANAGER_FAILED',
  'TOKENS_TOKEN_EXPIRED',
  'TOKENS_TOKEN_MISSING',
  'TOKENS_CREDENTIALS_INCOMPLETE',
  'TOKENS_CREDENTIALS_STALE',
  'TOKENS_REFRESH_REQUEST_FAILED',
  'TOKENS_REFRESH_EVENT_INVALID',
] as const;

export type TokensErrorCode = (typeof TOKENS_ERROR_CODES)[number];

/** The codes a {@link TokenStoreError} carries. */
export type TokenStoreErrorCode = Exclude<
  TokensErrorCode,
  | 'TOKENS_CREDENTIALS_INCOMPLETE'
  | 'TOKENS_CREDENTIALS_STALE'
  | 'TOKENS_REFRESH_REQUEST_FAILED'
  | 'TOKENS_REFRESH_EVENT_INVALID'
>;

/**
 * The code a refresh records (an org's `lastError.code`, a run's result) for a failure no part
 * classified: a bug, or an error thrown outside our families. The log has its class.
 */
export const REFRESH_UNEXPECTED = 'TOKENS_REFRESH_UNEXPECTED';

export interface TokenStoreErrorOptions {
  orgId?: string | undefined;
  /** The secret's name (never its value). */
  secretName?: string | undefined;
  cause?: unknown;
  /** Whether retrying the same call later may succeed. @default false */
  retryable?: boolean;
}

/** Base of the family; `code` says which failure it is. */
export class TokenStoreError extends Error {
  override readonly name: string = 'TokenStoreError';
  readonly code: TokenStoreErrorCode;
  readonly orgId: string | undefined;
  readonly secretName: string | undefined;
  readonly retryable: boolean;

  constructor(code: TokenStoreErrorCode, message: string, options: TokenStoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.orgId = options.orgId;
    this.secretName = options.secretName;
    this.retryable = options.retryable ?? false;
  }
}

/** Where in the secret JSON a schema check failed, and which check: never the value. */
export interface SecretIssue {
  path: string;
  code: string;
  expected?: string | undefined;
}

export class SecretNotFoundError extends TokenStoreError {
  override readonly name = 'SecretNotFoundError';
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super('TOKENS_SECRET_NOT_FOUND', message, options);
  }
}

export class SecretMalformedError extends TokenStoreError {
  override readonly name = 'SecretMalformedError';
  readonly issues: readonly SecretIssue[];
  constructor(
    code: 'TOKENS_SECRET_MALFORMED' | 'TOKENS_VALUE_INVALID',
    message: string,
    issues: readonly SecretIssue[],
    options: TokenStoreErrorOptions = {},
  ) {
    super(code, message, options);
    this.issues = issues;
  }
}

export class SecretConflictError extends TokenStoreError {
  override readonly name = 'SecretConflictError';
  constructor(
    code: 'TOKENS_VERSION_CONFLICT' | 'TOKENS_SECRET_ALREADY_EXISTS',
    message: string,
    options: TokenStoreErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

export class TokenUnavailableError extends TokenStoreError {
  override readonly name = 'TokenUnavailableError';
  /** For `TOKENS_TOKEN_EXPIRED`: when the stored token expired. */
  readonly expiresAt: string | undefined;
  constructor(
    code: 'TOKENS_TOKEN_EXPIRED' | 'TOKENS_TOKEN_MISSING',
    message: string,
    options: TokenStoreErrorOptions & { expiresAt?: string | undefined } = {},
  ) {
    super(code, message, { ...options, retryable: true });
    this.expiresAt = options.expiresAt;
  }
}
