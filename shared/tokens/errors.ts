/**
 * The token store's and token provider's errors: one family, a stable `code` to branch on, a
 * message that says what to do, and never a secret value (not in the message, not in `cause`:
 * a JSON parse error or a schema issue can quote the input, so neither is kept as the cause).
 */

export type TokenStoreErrorCode =
  /** The secret (or the requested version/stage of it) does not exist. */
  | 'secret_not_found'
  /** The secret exists but its JSON does not match the schema. */
  | 'secret_malformed'
  /** A value handed to a write does not match the schema (a bug in the caller). */
  | 'invalid_value'
  /** The secret is marked for deletion (Secrets Manager refuses reads and writes). */
  | 'secret_deleted'
  /** The same ClientRequestToken was used before with a different value. */
  | 'version_conflict'
  /** createOrgSecrets found the org's credentials already stored with a different value. */
  | 'secret_exists'
  /** Secrets Manager kept throttling after the SDK's bounded retries. */
  | 'throttled'
  /** Any other Secrets Manager failure (see `cause`). */
  | 'secrets_manager_error'
  /** The stored token is past `expiresAt` and a refresh request did not replace it. */
  | 'token_expired'
  /** The org has no token yet and a refresh request did not produce one. */
  | 'token_missing';

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
    super('secret_not_found', message, options);
  }
}

export class SecretMalformedError extends TokenStoreError {
  override readonly name = 'SecretMalformedError';
  readonly issues: readonly SecretIssue[];
  constructor(
    code: 'secret_malformed' | 'invalid_value',
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
    code: 'version_conflict' | 'secret_exists',
    message: string,
    options: TokenStoreErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

export class TokenUnavailableError extends TokenStoreError {
  override readonly name = 'TokenUnavailableError';
  /** For `token_expired`: when the stored token expired. */
  readonly expiresAt: string | undefined;
  constructor(
    code: 'token_expired' | 'token_missing',
    message: string,
    options: TokenStoreErrorOptions & { expiresAt?: string | undefined } = {},
  ) {
    super(code, message, { ...options, retryable: true });
    this.expiresAt = options.expiresAt;
  }
}
