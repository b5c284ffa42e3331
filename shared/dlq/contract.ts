/**
 * The dead-letter message contract (docs/dead-letters.md). Two kinds of letters reach the DLQ:
 * - **worker letters**: the worker met a permanent failure (invalid envelope, Tallyfy 404/422,
 *   org `needs_reauth`…), sent the ORIGINAL message body to the DLQ with the attributes below,
 *   then deleted the message from the events queue (reported as success to the event source);
 * - **redrive letters**: SQS moved the message after `maxReceiveCount` (5) receives without a
 *   delete; they carry only the envelope's own attributes (`orgId`, `type`).
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';

/** Message attribute names of a worker letter (all `String` unless said). */
export const DEAD_LETTER_ATTRIBUTES = Object.freeze({
  /** Stable machine code of the failure, e.g. `TALLYFY_NOT_FOUND`, `AUTOMATIONS_ORG_NEEDS_REAUTH`. Required. */
  failureCode: 'failureCode',
  /** One sanitized sentence an operator can act on (no payload, no token). Required. ≤ 1024 chars. */
  failureReason: 'failureReason',
  /** ISO 8601 time the worker gave up. */
  failedAt: 'failedAt',
  /** `Number`: the message's ApproximateReceiveCount on the events queue when it failed. */
  receiveCount: 'receiveCount',
  /** The message id on the events queue. */
  sourceMessageId: 'sourceMessageId',
  /**
   * `ACTION_IN_DOUBT` letters: JSON `[{ruleId, actionIndex, type, marker}]`, the actions whose
   * outcome is unknown (what `dlq replay --in-doubt retry|done` resolves).
   */
  actionsInDoubt: 'actionsInDoubt',
});

/**
 * Receives of an events-queue message before SQS's redrive moves it to the DLQ (the queue's
 * `maxReceiveCount`): one definition for the stack, local mode and the worker, which dead-letters
 * an event itself, with its reason, when its last receive fails.
 */
export const MAX_RECEIVE_COUNT = 5;

/** `failureCode` the listing reports for redrive letters (they have none of their own). */
export const MAX_RECEIVES_EXCEEDED = 'DLQ_MAX_RECEIVES_EXCEEDED';

/** `failureCode` of a worker letter that carries none (written by other code, or by hand). */
export const FAILURE_CODE_MISSING = 'DLQ_FAILURE_CODE_MISSING';

/** The codes the listing itself gives letters (docs/errors.md). */
export const DLQ_ERROR_CODES = [MAX_RECEIVES_EXCEEDED, FAILURE_CODE_MISSING] as const;

/** Longest `failureReason` kept (SQS attribute values may be larger; readers are people). */
export const MAX_FAILURE_REASON_LENGTH = 1024;

/** What the worker knows about a permanent failure. */
export interface DeadLetterFailure {
  code: string;
  reason: string;
  /** Epoch ms. */
  failedAtMs: number;
  receiveCount?: number | undefined;
  sourceMessageId?: string | undefined;
}

/**
 * The attributes a worker puts on a letter it sends to the DLQ, next to the envelope's own
 * (`envelopeMessageAttributes`). Use it so the listing reads what the worker wrote.
 *
 * @example
 * await sqs.send(new SendMessageCommand({
 *   QueueUrl: deadLetterQueueUrl,
 *   MessageBody: record.body, // the original body, unchanged
 *   MessageAttributes: {
 *     ...envelopeMessageAttributes(envelope),
 *     ...deadLetterAttributes({ code: 'TALLYFY_NOT_FOUND', reason: 'Task t1 no longer exists (404).',
 *       failedAtMs: Date.now(), receiveCount: 1, sourceMessageId: record.messageId }),
 *   },
 * }));
 */
export function deadLetterAttributes(
  failure: DeadLetterFailure,
): Record<string, MessageAttributeValue> {
  const code = failure.code.trim() || FAILURE_CODE_MISSING;
  const reason = (failure.reason.trim() || 'no reason given').slice(0, MAX_FAILURE_REASON_LENGTH);
  const attributes: Record<string, MessageAttributeValue> = {
    [DEAD_LETTER_ATTRIBUTES.failureCode]: { DataType: 'String', StringValue: code },
    [DEAD_LETTER_ATTRIBUTES.failureReason]: { DataType: 'String', StringValue: reason },
    [DEAD_LETTER_ATTRIBUTES.failedAt]: {
      DataType: 'String',
      StringValue: new Date(failure.failedAtMs).toISOString(),
    },
  };
  if (failure.receiveCount !== undefined) {
    attributes[DEAD_LETTER_ATTRIBUTES.receiveCount] = {
      DataType: 'Number',
      StringValue: String(failure.receiveCount),
    };
  }
  if (failure.sourceMessageId !== undefined && failure.sourceMessageId !== '') {
    attributes[DEAD_LETTER_ATTRIBUTES.sourceMessageId] = {
      DataType: 'String',
      StringValue: failure.sourceMessageId,
    };
  }
  return attributes;
}
