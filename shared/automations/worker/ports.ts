/** Ports of the SQS side of the worker: the dead-letter queue and message visibility. */

/** Message attributes a dead letter carries (all strings). */
export interface DeadLetterAttributes {
  /** Why it failed, sanitized (no payload values, no secrets), at most 1000 characters. */
  failureReason: string;
  /** Stable short code (`org_needs_reauth`, `action_not_found`, `invalid_envelope`…). */
  failureCode: string;
  /** Envelope fields when the body parsed. */
  orgId?: string;
  type?: string;
  eventId?: string;
  /** The message id on the events queue and how often it had been received. */
  sourceMessageId: string;
  receiveCount: string;
  failedAt: string;
}

/** Where permanent failures go (the events DLQ, EVENTS_DLQ_URL). */
export interface DeadLetterSink {
  /** Stores the original body with the attributes; rejects when not stored. */
  send(body: string, attributes: DeadLetterAttributes): Promise<void>;
}

/** The SQS record fields visibility changes need. */
export interface QueueMessageRef {
  receiptHandle: string;
  eventSourceARN: string;
}

/** Changes when a failed message becomes visible again (backoff between receives). */
export interface MessageVisibility {
  change(message: QueueMessageRef, visibilityTimeoutSeconds: number): Promise<void>;
}
