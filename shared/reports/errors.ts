/** Every `code` of the reporter's errors (docs/errors.md says what each means and what to do). */
export const REPORTS_ERROR_CODES = [
  'REPORTS_INPUT_INVALID',
  'REPORTS_ORG_NOT_FOUND',
  'REPORTS_SINK_FAILED',
] as const;

export type ReportErrorCode = (typeof REPORTS_ERROR_CODES)[number];

/** What a failed org's report is recorded as when its error is none of ours (the log has it). */
export const REPORTS_UNEXPECTED = 'REPORTS_UNEXPECTED';

/** Base of the reporter's errors: branch on `code`, never on the message. */
export class ReportError extends Error {
  readonly code: ReportErrorCode;

  constructor(code: ReportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The handler's event (or an on-demand request) does not match any accepted shape. */
export class ReportInputError extends ReportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REPORTS_INPUT_INVALID', message, options);
  }
}

/** An on-demand run named an org the registry does not know. */
export class ReportOrgNotFoundError extends ReportError {
  readonly orgId: string;

  constructor(orgId: string) {
    super('REPORTS_ORG_NOT_FOUND', `org ${orgId} is not in the org registry`);
    this.orgId = orgId;
  }
}

/** Writing a report file failed (S3 or the local file system). */
export class ReportSinkError extends ReportError {
  readonly key: string;

  constructor(key: string, options?: { cause?: unknown }) {
    super('REPORTS_SINK_FAILED', `could not write report object ${key}`, options);
    this.key = key;
  }
}
