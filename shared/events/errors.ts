/**
 * Errors of the event path. Callers branch on the class or `code`, never on the message;
 * messages name queues, buckets and event ids, never payloads or secrets.
 */

/** Every `code` of the family (docs/errors.md says what each means and what to do). */
export const EVENTS_ERROR_CODES = [
  'EVENTS_ENVELOPE_INVALID',
  'EVENTS_MESSAGE_TOO_LARGE',
  'EVENTS_QUEUE_SEND_FAILED',
  'EVENTS_ARCHIVE_FAILED',
  'EVENTS_DATA_MISSING',
  'EVENTS_BUS_PUBLISH_FAILED',
] as const;

export type EventsErrorCode = (typeof EVENTS_ERROR_CODES)[number];

/** Base of the family. */
export class EventsError extends Error {
  readonly code: EventsErrorCode;

  constructor(code: EventsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A message body is not an event envelope (not JSON, or a failed schema check). */
export class EnvelopeInvalidError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENTS_ENVELOPE_INVALID', message, options);
  }
}

/** An envelope is larger than the queue or bus accepts; nothing was sent. */
export class MessageTooLargeError extends EventsError {
  readonly bytes: number;
  readonly limitBytes: number;

  constructor(what: string, eventId: string, bytes: number, limitBytes: number) {
    super(
      'EVENTS_MESSAGE_TOO_LARGE',
      `${what} for event ${eventId} is ${bytes} bytes, over the ${limitBytes}-byte limit; send a claim-check envelope (dataref) instead`,
    );
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

/** SQS refused or failed a send; `failedIds` lists the envelopes not stored. */
export class QueueSendError extends EventsError {
  readonly failedIds: readonly string[];

  constructor(message: string, failedIds: readonly string[], options?: { cause?: unknown }) {
    super('EVENTS_QUEUE_SEND_FAILED', message, options);
    this.failedIds = failedIds;
  }
}

/** Writing to or reading from the raw archive failed. */
export class ArchiveError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENTS_ARCHIVE_FAILED', message, options);
  }
}

/** A claim-check envelope points at an archive object that is not there (or not JSON). */
export class EnvelopeDataMissingError extends EventsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENTS_DATA_MISSING', message, options);
  }
}

/** EventBridge refused some entries; `failedIds` lists their envelope ids. */
export class BusPublishError extends EventsError {
  readonly failedIds: readonly string[];

  constructor(message: string, failedIds: readonly string[], options?: { cause?: unknown }) {
    super('EVENTS_BUS_PUBLISH_FAILED', message, options);
    this.failedIds = failedIds;
  }
}
