/**
 * Errors of the org registry. Callers branch on the class or `code`, never on the message.
 * Messages name org ids, rule ids, streams and dedupe keys, never a secret or a hash.
 */

/** Every `code` of the family (docs/errors.md says what each means and what to do). */
export const ORGS_ERROR_CODES = [
  'ORGS_INPUT_INVALID',
  'ORGS_ITEM_INVALID',
  'ORGS_ORG_ALREADY_EXISTS',
  'ORGS_ORG_NOT_FOUND',
  'ORGS_VERSION_CONFLICT',
  'ORGS_LEASE_LOST',
  'ORGS_WATERMARK_CONFLICT',
  'ORGS_EVENT_NOT_FOUND',
  'ORGS_ACTION_STATE_INVALID',
  'ORGS_STORE_FAILED',
] as const;

export type OrgsErrorCode = (typeof ORGS_ERROR_CODES)[number];

/** Base of the family. */
export class OrgsError extends Error {
  readonly code: OrgsErrorCode;

  constructor(code: OrgsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An argument failed its schema (bad org id, bad hash, TTL under the minimum…). */
export class InvalidInputError extends OrgsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ORGS_INPUT_INVALID', message, options);
  }
}

/** A stored item does not match its schema (written by other code, or corrupted). */
export class ItemInvalidError extends OrgsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ORGS_ITEM_INVALID', message, options);
  }
}

/** `createOrg` found an org with that id already registered. */
export class OrgAlreadyExistsError extends OrgsError {
  readonly orgId: string;

  constructor(orgId: string) {
    super(
      'ORGS_ORG_ALREADY_EXISTS',
      `org ${orgId} is already registered; update it, or remove it first`,
    );
    this.orgId = orgId;
  }
}

/** The org is not registered. */
export class OrgNotFoundError extends OrgsError {
  readonly orgId: string;

  constructor(orgId: string) {
    super('ORGS_ORG_NOT_FOUND', `org ${orgId} is not registered`);
    this.orgId = orgId;
  }
}

/** An optimistic write expected another version of the org: re-read and apply again. */
export class VersionConflictError extends OrgsError {
  readonly orgId: string;
  readonly expectedVersion: number;
  /** The version found, when the org still exists. */
  readonly actualVersion: number | undefined;

  constructor(orgId: string, expectedVersion: number, actualVersion: number | undefined) {
    super(
      'ORGS_VERSION_CONFLICT',
      `org ${orgId} changed: expected version ${expectedVersion}, found ${actualVersion ?? 'none'}; re-read the org and apply the change again`,
    );
    this.orgId = orgId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/**
 * A fenced write came from a runner that no longer holds the org's lease (it expired and
 * another runner took it, or it was released): the write was rejected, nothing changed.
 */
export class LeaseLostError extends OrgsError {
  readonly orgId: string;
  readonly fence: number;

  constructor(orgId: string, fence: number) {
    super(
      'ORGS_LEASE_LOST',
      `the lease on org ${orgId} with fence ${fence} is no longer held; the write was rejected (another runner owns the org now)`,
    );
    this.orgId = orgId;
    this.fence = fence;
  }
}

/** `advanceWatermark` with `expected` found another value stored. */
export class WatermarkConflictError extends OrgsError {
  readonly orgId: string;
  readonly stream: string;
  readonly actual: string | undefined;

  constructor(orgId: string, stream: string, actual: string | undefined) {
    super(
      'ORGS_WATERMARK_CONFLICT',
      `watermark ${stream} of org ${orgId} is ${actual ?? 'unset'}, not the expected value; re-read it and retry`,
    );
    this.orgId = orgId;
    this.stream = stream;
    this.actual = actual;
  }
}

/** `markEvent` on an event that was never claimed (or whose dedupe record expired). */
export class EventNotFoundError extends OrgsError {
  readonly dedupeKey: string;

  constructor(dedupeKey: string) {
    super(
      'ORGS_EVENT_NOT_FOUND',
      `event ${dedupeKey} has no live dedupe record; claim it first with claimEvent`,
    );
    this.dedupeKey = dedupeKey;
  }
}

/** An action record is not in the state the call needs (complete without begin, or twice with another attempt). */
export class ActionStateError extends OrgsError {
  constructor(message: string) {
    super('ORGS_ACTION_STATE_INVALID', message);
  }
}

/** DynamoDB failed (after the SDK's retries) for a reason other than a condition. */
export class StoreError extends OrgsError {
  readonly operation: string;

  constructor(operation: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.name : 'unknown error';
    super('ORGS_STORE_FAILED', `org registry ${operation} failed: ${reason}`, options);
    this.operation = operation;
  }
}
