import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
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

  const prepare = (envelope: EventEnvelope) => {
    const body = serializeEnvelope(envelope);
    const bytes = envelopeMessageBytes(envelope, body);
    if (bytes > limit) throw new MessageTooLargeError('the SQS message', envelope.id, bytes, limit);
    return { body, bytes, attributes: envelopeMessageAttributes(envelope) };
  };

  return {
    async send(envelope) {
      const message = prepare(envelope);
      try {
        await client.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: message.body,
            MessageAttributes: message.attributes,
          }),
        );
      } catch (error) {
        throw new QueueSendError(`SQS did not store event ${envelope.id}`, [envelope.id], {
          cause: error,
        });
      }
    },

    async sendBatch(envelopes) {
      const prepared = envelopes.map((envelope) => ({ envelope, ...prepare(envelope) }));
      // a batch is limited both in entries and in total size (the same byte limit)
      const chunks: (typeof prepared)[] = [];
      let current: typeof prepared = [];
      let currentBytes = 0;
      for (const item of prepared) {
        if (
          current.length === SQS_BATCH_MAX_ENTRIES ||
          (current.length > 0 && currentBytes + item.bytes > limit)
        ) {
          chunks.push(current);
          current = [];
          currentBytes = 0;
        }
        current.push(item);
        currentBytes += item.bytes;
      }
      if (current.length > 0) chunks.push(current);

      const failedIds: string[] = [];
      const causes: unknown[] = [];
      for (const chunk of chunks) {
        try {
          const result = await client.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: chunk.map((item, i) => ({
                Id: String(i),
                MessageBody: item.body,
                MessageAttributes: item.attributes,
              })),
            }),
          );
          for (const failed of result.Failed ?? []) {
            const item = chunk[Number(failed.Id)];
            failedIds.push(item?.envelope.id ?? `entry ${failed.Id}`);
            causes.push(`${failed.Code ?? 'unknown'}: ${failed.Message ?? ''}`);
          }
        } catch (error) {
          failedIds.push(...chunk.map((item) => item.envelope.id));
          causes.push(error);
        }
      }
      if (failedIds.length > 0) {
        throw new QueueSendError(
          `SQS did not store ${failedIds.length} of ${envelopes.length} events`,
          failedIds,
          { cause: causes.length === 1 ? causes[0] : new AggregateError(causes) },
        );
      }
    },
  };
}
