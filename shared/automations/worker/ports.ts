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
  /**
   * `ACTION_IN_DOUBT` letters: the actions whose outcome is unknown, as JSON
   * `[{ruleId, actionIndex, type, marker}]` (what `dlq replay --in-doubt` resolves).
   */
  actionsInDoubt?: string;
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

/** An SQS record as the deferral needs it. */
export interface DeferredMessage extends QueueMessageRef {
  body: string;
  messageId: string;
  /** The record's String/Number message attributes (`orgId`, `type`, `replayOf`…), kept as they are. */
  attributes: Readonly<Record<string, { dataType: string; stringValue: string }>>;
}

/**
 * Puts a message back on its queue for later as a new message (SendMessage with `DelaySeconds`,
 * at most 900), carrying `deferrals` (how often it was deferred) and `deferredUntil` (epoch ms
 * it may run again). The original is then reported done, so the wait counts no receive toward
 * the queue's redrive (ChangeMessageVisibility would: every receive does).
 */
export interface MessageDeferral {
  /** Resolves when the copy is stored; rejects otherwise (the original then stays). */
  defer(
    message: DeferredMessage,
    options: { delaySeconds: number; deferrals: number; deferredUntilMs: number },
  ): Promise<void>;
}
