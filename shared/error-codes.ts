/**
 * The one convention of our error codes (docs/errors.md): UPPER_SNAKE_CASE, the part that
 * raises the error first, then the subject, then the condition: `ORGS_ORG_NOT_FOUND`,
 * `TOKENS_SECRET_MALFORMED`, `TALLYFY_RATE_LIMITED`, `EVENTS_ENVELOPE_INVALID`. Every error
 * family types its `code` as a union of such codes; callers branch on the class or the code,
 * never on a message.
 */

/** The parts that raise errors, as code prefixes (the folder, or `CLI`/`LOCAL` for bin/local). */
export const ERROR_CODE_PARTS = [
  'CONFIG',
  'ORGS',
  'TOKENS',
  'TALLYFY',
  'EVENTS',
  'WEBHOOKS',
  'AUTOMATIONS',
  'RECONCILE',
  'REPORTS',
  'DLQ',
  'CLI',
  'LOCAL',
  'SANDBOX',
] as const;

const ERROR_CODE = new RegExp(`^(${ERROR_CODE_PARTS.join('|')})(_[A-Z0-9]+)+$`);

/**
 * The dead-letter code of an event with an action whose outcome could not be resolved
 * (ARCHITECTURE.md "Automations" names it; docs/errors.md reserves it): the one code outside
 * the part-prefix convention.
 */
export const ACTION_IN_DOUBT = 'ACTION_IN_DOUBT';

/** Codes kept under the names the design gave them, outside the convention. */
export const RESERVED_ERROR_CODES = [ACTION_IN_DOUBT] as const;

/** Whether `code` follows the convention (or is one of the {@link RESERVED_ERROR_CODES}). */
export function isErrorCode(code: unknown): code is string {
  return (
    typeof code === 'string' &&
    code.length <= 64 &&
    (ERROR_CODE.test(code) || (RESERVED_ERROR_CODES as readonly string[]).includes(code))
  );
}

/**
 * The `code` of an error of ours, or `fallback` for anything else (an AWS SDK error, a bug):
 * what a failure is recorded and counted as.
 *
 * @example errorCodeOf(new OrgNotFoundError('o1'), 'REPORTS_UNEXPECTED') // 'ORGS_ORG_NOT_FOUND'
 */
export function errorCodeOf(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return isErrorCode(code) ? code : fallback;
}
