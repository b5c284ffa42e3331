/**
 * Exit codes and the CLI's error family. Every failure a user can act on is a {@link CliError}
 * with a stable `code`, an exit code from {@link EXIT}, and a message that never quotes a secret.
 */

/** Exit codes of `tallyfy-serverless` (docs/cli.md "Exit codes"). */
export const EXIT = Object.freeze({
  /** The command did what was asked. */
  ok: 0,
  /** An unexpected failure (a bug, or an error we do not classify). */
  error: 1,
  /** Bad usage: unknown command or option, missing or invalid argument, a secret on argv. */
  usage: 2,
  /** The org, rule or dead letter named does not exist. */
  notFound: 3,
  /** The state does not allow it: org already registered, secrets left over, org disabled. */
  conflict: 4,
  /** Tallyfy rejected the credentials (or the org needs re-authorisation). */
  credentials: 5,
  /** The target cannot be reached: no local mode running, no such stack, AWS unreachable. */
  target: 6,
  /** Tallyfy refused for lack of permission (e.g. not an org admin). */
  forbidden: 7,
  /** Some items of a batch failed (e.g. `dlq replay --all`). */
  partial: 8,
  /** A remote call failed in a way that may pass on retry (Tallyfy down, function error). */
  unavailable: 9,
  /** The user declined a confirmation or interrupted a prompt. */
  cancelled: 130,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Stable codes of {@link CliError} (JSON output `error.code`; docs/errors.md, docs/cli.md). */
export const CLI_ERROR_CODES = [
  'CLI_USAGE',
  'CLI_SECRET_ON_ARGV',
  'CLI_INPUT_INVALID',
  'CLI_ORG_NOT_FOUND',
  'CLI_RULE_NOT_FOUND',
  'CLI_DEAD_LETTER_NOT_FOUND',
  'CLI_ORG_ALREADY_EXISTS',
  'CLI_SECRETS_ALREADY_EXIST',
  'CLI_ORG_STATE_CONFLICT',
  'CLI_AUTH_MODE_UNSUPPORTED',
  'CLI_CREDENTIALS_REJECTED',
  'CLI_FORBIDDEN',
  'CLI_TARGET_MISSING',
  'CLI_TARGET_UNREACHABLE',
  'CLI_STACK_OUTPUT_MISSING',
  'CLI_REMOTE_FAILED',
  'CLI_PARTLY_FAILED',
  'CLI_CHECKS_FAILED',
  'CLI_CANCELLED',
  'CLI_NOT_AVAILABLE',
  'CLI_UNEXPECTED',
] as const;

export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  CLI_USAGE: EXIT.usage,
  CLI_SECRET_ON_ARGV: EXIT.usage,
  CLI_INPUT_INVALID: EXIT.usage,
  CLI_ORG_NOT_FOUND: EXIT.notFound,
  CLI_RULE_NOT_FOUND: EXIT.notFound,
  CLI_DEAD_LETTER_NOT_FOUND: EXIT.notFound,
  CLI_ORG_ALREADY_EXISTS: EXIT.conflict,
  CLI_SECRETS_ALREADY_EXIST: EXIT.conflict,
  CLI_ORG_STATE_CONFLICT: EXIT.conflict,
  CLI_AUTH_MODE_UNSUPPORTED: EXIT.conflict,
  CLI_CREDENTIALS_REJECTED: EXIT.credentials,
  CLI_FORBIDDEN: EXIT.forbidden,
  CLI_TARGET_MISSING: EXIT.target,
  CLI_TARGET_UNREACHABLE: EXIT.target,
  CLI_STACK_OUTPUT_MISSING: EXIT.target,
  CLI_REMOTE_FAILED: EXIT.unavailable,
  CLI_PARTLY_FAILED: EXIT.partial,
  CLI_CHECKS_FAILED: EXIT.partial,
  CLI_CANCELLED: EXIT.cancelled,
  CLI_NOT_AVAILABLE: EXIT.error,
  CLI_UNEXPECTED: EXIT.error,
};

/** A failure the CLI reports as one line (plus an optional hint) and an exit code. */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: CliErrorCode;
  readonly exitCode: ExitCode;
  /** What to do about it, printed under the message. */
  readonly hint: string | undefined;
  /** Extra facts for `--json` output (never secrets). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: CliErrorCode,
    message: string,
    options: { hint?: string | undefined; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = EXIT_OF[code];
    this.hint = options.hint;
    this.details = options.details;
  }

  /** The same error with `details` added. */
  withDetails(details: Record<string, unknown>): CliError {
    return new CliError(this.code, this.message, {
      hint: this.hint,
      cause: this.cause,
      details: { ...this.details, ...details },
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export const usage = (message: string, hint?: string): CliError =>
  new CliError('CLI_USAGE', message, { hint });

export const orgNotFound = (orgId: string): CliError =>
  new CliError('CLI_ORG_NOT_FOUND', `No org ${orgId} is registered.`, {
    hint: 'List the registered orgs with `tallyfy-serverless orgs list`.',
  });
