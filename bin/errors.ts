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

/** Stable codes of {@link CliError} (JSON output `error.code`). */
export type CliErrorCode =
  | 'usage'
  | 'secret_on_argv'
  | 'invalid_input'
  | 'org_not_found'
  | 'rule_not_found'
  | 'dead_letter_not_found'
  | 'org_exists'
  | 'secrets_exist'
  | 'org_state'
  | 'credentials_rejected'
  | 'forbidden'
  | 'no_target'
  | 'target_unreachable'
  | 'stack_output_missing'
  | 'remote_failed'
  | 'partial_failure'
  | 'cancelled'
  | 'not_available'
  | 'unexpected';

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  usage: EXIT.usage,
  secret_on_argv: EXIT.usage,
  invalid_input: EXIT.usage,
  org_not_found: EXIT.notFound,
  rule_not_found: EXIT.notFound,
  dead_letter_not_found: EXIT.notFound,
  org_exists: EXIT.conflict,
  secrets_exist: EXIT.conflict,
  org_state: EXIT.conflict,
  credentials_rejected: EXIT.credentials,
  forbidden: EXIT.forbidden,
  no_target: EXIT.target,
  target_unreachable: EXIT.target,
  stack_output_missing: EXIT.target,
  remote_failed: EXIT.unavailable,
  partial_failure: EXIT.partial,
  cancelled: EXIT.cancelled,
  not_available: EXIT.error,
  unexpected: EXIT.error,
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
  new CliError('usage', message, { hint });

export const orgNotFound = (orgId: string): CliError =>
  new CliError('org_not_found', `No org ${orgId} is registered.`, {
    hint: 'List the registered orgs with `tallyfy-serverless orgs list`.',
  });
