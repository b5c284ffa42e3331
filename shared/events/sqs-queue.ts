import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createGroupCommit } from '../async.ts';
import { type EventEnvelope, serializeEnvelope } from './envelope.ts';
import { MessageTooLargeError, QueueSendError } from './errors.ts';
import type { EventQueue } from './ports.ts';

/**
 * The largest SQS message every queue accepts: 256 KiB, body and attributes together. (Since
 * 2025 a queue can be configured for up to 1 MiB; pass `maxMessageBytes` when ours is.)
 */
export const SQS_MAX_MESSAGE_BYTES = 262_144;

/** Entries per SendMessageBatch call (an SQS limit). */
const SQS_BATCH_MAX_ENTRIES = 10;

/** Options of {@link createSqsEventQueue}. */
export interface SqsEventQueueOptions {
  /** A client created once at module scope. */
  client: SQSClient;
  /** `EVENTS_QUEUE_URL`. */
  queueUrl: string;
  /**
   * Largest message (body + attributes) sent; larger envelopes are refused with
   * {@link MessageTooLargeError} before any call, so the caller can send a claim check.
   * @default SQS_MAX_MESSAGE_BYTES (256 KiB)
   */
  maxMessageBytes?: number;
  /**
   * Group commit of {@link EventQueue.send}: sends that wait while `maxInFlight` calls are in
   * flight go together as one SendMessageBatch; a send that finds a free slot goes at once as a
   * SendMessage (so one request at a time, as in a Lambda container, is a SendMessage each).
   * Each send still resolves only once SQS stored its message, and fails alone.
   * @default undefined (every send is its own SendMessage)
   */
  groupCommit?: { maxInFlight: number } | undefined;
}

/** The message attributes of an envelope: `orgId` and `type`, for filtering and triage. */
export function envelopeMessageAttributes(
  envelope: EventEnvelope,
): Record<string, MessageAttributeValue> {
  return {
    orgId: { DataType: 'String', StringValue: envelope.orgId },
    type: { DataType: 'String', StringValue: envelope.type },
  };
}

/**
 * Bytes SQS counts for the envelope's message: the body plus each attribute's name, data type
 * and value (SQS's own rule).
 */
export function envelopeMessageBytes(envelope: EventEnvelope, body?: string): number {
  let bytes = Buffer.byteLength(body ?? serializeEnvelope(envelope), 'utf8');
  for (const [name, value] of Object.entries(envelopeMessageAttributes(envelope))) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    bytes += Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/** An envelope ready to send: its body, size and attributes. */
interface PreparedMessage {
  envelope: EventEnvelope;
  body: string;
  bytes: number;
  attributes: Record<string, MessageAttributeValue>;
}

/**
 * {@link EventQueue} over SQS: body = envelope JSON, attributes `orgId` and `type`.
 *
 * @example
 * const sqs = new SQSClient({}); // module scope
 * const queue = createSqsEventQueue({ client: sqs, queueUrl: config.queue.eventsQueueUrl });
 * await queue.send(envelope);
 */
export function createSqsEventQueue(options: SqsEventQueueOptions): EventQueue {
  const { client, queueUrl } = options;
  const limit = options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;

  const prepare = (envelope: EventEnvelope): PreparedMessage => {
    const body = serializeEnvelope(envelope);
    const bytes = envelopeMessageBytes(envelope, body);
    if (bytes > limit) throw new MessageTooLargeError('the SQS message', envelope.id, bytes, limit);
    return { envelope, body, bytes, attributes: envelopeMessageAttributes(envelope) };
  };

  const sendOne = async (message: PreparedMessage): Promise<void> => {
    try {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: message.body,
          MessageAttributes: message.attributes,
        }),
      );
    } catch (error) {
      throw new QueueSendError(
        `SQS did not store event ${message.envelope.id}`,
        [message.envelope.id],
        { cause: error },
      );
    }
  };

  /**
   * Sends `messages` in SendMessageBatch calls (a batch is limited both in entries and in total
   * size, the same byte limit); the cause of each message not stored, by index.
   */
  const sendMany = async (messages: readonly PreparedMessage[]): Promise<Map<number, unknown>> => {
    const failures = new Map<number, unknown>();
    const chunks: number[][] = [];
    let current: number[] = [];
    let currentBytes = 0;
    for (const [index, message] of messages.entries()) {
      if (
        current.length === SQS_BATCH_MAX_ENTRIES ||
        (current.length > 0 && currentBytes + message.bytes > limit)
      ) {
        chunks.push(current);
        current = [];
        currentBytes = 0;
      }
      current.push(index);
      currentBytes += message.bytes;
    }
    if (current.length > 0) chunks.push(current);

    for (const chunk of chunks) {
      try {
        const result = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((index, i) => {
              const message = messages[index] as PreparedMessage;
              return {
                Id: String(i),
                MessageBody: message.body,
                MessageAttributes: message.attributes,
              };
            }),
          }),
        );
        for (const failed of result.Failed ?? []) {
          const cause = `${failed.Code ?? 'unknown'}: ${failed.Message ?? ''}`;
          const index = chunk[Number(failed.Id)];
          // an entry id we did not send: which message failed is unknown, so none counts as stored
          if (index === undefined) for (const i of chunk) failures.set(i, cause);
          else failures.set(index, cause);
        }
      } catch (error) {
        for (const index of chunk) failures.set(index, error);
      }
    }
    return failures;
  };

  // sends waiting together share one SendMessageBatch; a lone send stays a SendMessage
  const groupSend =
    options.groupCommit === undefined
      ? undefined
      : createGroupCommit<PreparedMessage>({
          maxItems: SQS_BATCH_MAX_ENTRIES,
          maxInFlight: options.groupCommit.maxInFlight,
          async commit(messages) {
            if (messages.length === 1) {
              await sendOne(messages[0] as PreparedMessage);
              return undefined;
            }
            const failures = await sendMany(messages);
            return new Map(
              [...failures].map(([index, cause]) => {
                const id = messages[index]?.envelope.id ?? `entry ${index}`;
                return [
                  index,
                  new QueueSendError(`SQS did not store event ${id}`, [id], { cause }),
                ];
              }),
            );
          },
        });

  return {
    async send(envelope) {
      const message = prepare(envelope);
      if (groupSend === undefined) await sendOne(message);
      else await groupSend(message);
    },

    async sendBatch(envelopes) {
      const prepared = envelopes.map(prepare);
      const failures = await sendMany(prepared);
      if (failures.size > 0) {
        const failedIds = [...failures.keys()].map(
          (index) => prepared[index]?.envelope.id ?? `entry ${index}`,
        );
        const causes = [...failures.values()];
        throw new QueueSendError(
          `SQS did not store ${failedIds.length} of ${envelopes.length} events`,
          failedIds,
          { cause: causes.length === 1 ? causes[0] : new AggregateError(causes) },
        );
      }
    },
  };
}
