/** Stable codes of the reporter's own errors. */
export type ReportErrorCode =
  | 'REPORT_INVALID_INPUT'
  | 'REPORT_ORG_NOT_FOUND'
  | 'REPORT_SINK_FAILED';

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
    super('REPORT_INVALID_INPUT', message, options);
  }
}

/** An on-demand run named an org the registry does not know. */
export class ReportOrgNotFoundError extends ReportError {
  readonly orgId: string;

  constructor(orgId: string) {
    super('REPORT_ORG_NOT_FOUND', `org ${orgId} is not in the org registry`);
    this.orgId = orgId;
  }
}

/** Writing a report file failed (S3 or the local file system). */
export class ReportSinkError extends ReportError {
  readonly key: string;

  constructor(key: string, options?: { cause?: unknown }) {
    super('REPORT_SINK_FAILED', `could not write report object ${key}`, options);
    this.key = key;
  }
}
