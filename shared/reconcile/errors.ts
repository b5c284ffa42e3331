/**
 * Errors of the reconciler and the dead-letter tools. Callers branch on the class or `code`;
 * messages name orgs, streams, queues and event ids, never payloads or tokens.
 */

/** Every `code` of the family (docs/errors.md says what each means and what to do). */
export const RECONCILE_ERROR_CODES = [
  'RECONCILE_INPUT_INVALID',
  'RECONCILE_STORE_FAILED',
  'RECONCILE_ORG_NOT_FOUND',
] as const;

export type ReconcileErrorCode = (typeof RECONCILE_ERROR_CODES)[number];

/** What a stream failure is recorded as when its error is none of ours (the log has it). */
export const RECONCILE_UNEXPECTED = 'RECONCILE_UNEXPECTED';

/** Base of the family. */
export class ReconcileError extends Error {
  readonly code: ReconcileErrorCode;

  constructor(code: ReconcileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The invocation event is not `{}`, a scheduled event, or `{orgId}`. */
export class ReconcileInputError extends ReconcileError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RECONCILE_INPUT_INVALID', message, options);
  }
}

/** Reading or writing seen markers failed. */
export class ReconcileStoreError extends ReconcileError {
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    super('RECONCILE_STORE_FAILED', `DynamoDB ${operation} of seen markers failed`, { cause });
    this.operation = operation;
  }
}

/** An on-demand run named an org the registry does not know. */
export class ReconcileOrgNotFoundError extends ReconcileError {
  readonly orgId: string;

  constructor(orgId: string) {
    super('RECONCILE_ORG_NOT_FOUND', `Org ${orgId} is not registered.`);
    this.orgId = orgId;
  }
}
