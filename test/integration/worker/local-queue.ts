/**
 * A test-local SQS-like queue: the receiver sends envelopes into it (it is an EventQueue), and
 * `drain` delivers them to the worker's handler as SQS batches with receive counts, deletes
 * what the handler did not report as failed, redelivers failures, and moves a message to its
 * dead letters after `maxReceiveCount` receives (the redrive policy). Visibility delays the
 * worker asks for are recorded, not waited: time is compressed so tests do not sleep.
 */
import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type {
  DeadLetterAttributes,
  DeadLetterSink,
  MessageDeferral,
  MessageVisibility,
} from '../../../shared/automations/index.ts';
import {
  type EventEnvelope,
  type EventQueue,
  serializeEnvelope,
} from '../../../shared/events/index.ts';

export const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:events';

interface Message {
  messageId: string;
  body: string;
  orgId: string;
  receiveCount: number;
  receiptHandle: string;
  /** Further message attributes (a deferral's `deferrals`, `deferredUntil`…). */
  attributes?: Record<string, { dataType: string; stringValue: string }>;
}

/** A deferral the worker asked for. */
export interface Deferral {
  delaySeconds: number;
  deferrals: number;
  deferredUntilMs: number;
}

export interface DeadLetter {
  body: string;
  /** Set when the worker sent it (permanent failure); absent for a redrive. */
  attributes?: DeadLetterAttributes;
  via: 'worker' | 'redrive';
}

export class LocalQueue implements EventQueue, MessageVisibility, MessageDeferral {
  readonly messages: Message[] = [];
  readonly deadLetters: DeadLetter[] = [];
  readonly visibilityChanges: number[] = [];
  readonly deferrals: Deferral[] = [];
  readonly maxReceiveCount: number;
  sent = 0;

  readonly #onDelay: ((ms: number) => void) | undefined;

  /**
   * @param options.onDelay called with each visibility delay the worker asks for: tests move
   *   their clock by it, so a redelivery happens "after" the delay without sleeping
   */
  constructor(options: { maxReceiveCount?: number; onDelay?: (ms: number) => void } = {}) {
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.#onDelay = options.onDelay;
  }

  // EventQueue (receiver side)
  async send(envelope: EventEnvelope): Promise<void> {
    this.sendBody(serializeEnvelope(envelope), envelope.orgId);
  }

  /** Puts a raw body on the queue (a redelivery, or a malformed message). */
  sendBody(body: string, orgId = ''): string {
    const messageId = randomUUID();
    this.messages.push({ messageId, body, orgId, receiveCount: 0, receiptHandle: '' });
    this.sent += 1;
    return messageId;
  }

  // DeadLetterSink (worker side)
  async send_(body: string, attributes: DeadLetterAttributes): Promise<void> {
    this.deadLetters.push({ body, attributes, via: 'worker' });
  }

  // MessageVisibility (worker side)
  async change(_message: { receiptHandle: string }, seconds: number): Promise<void> {
    this.visibilityChanges.push(seconds);
    this.#onDelay?.(seconds * 1000);
  }

  // MessageDeferral (worker side): a new message, due after the delay (time compressed)
  async defer(
    message: { body: string; attributes: Message['attributes'] },
    options: Deferral,
  ): Promise<void> {
    this.deferrals.push({ ...options });
    const messageId = randomUUID();
    this.messages.push({
      messageId,
      body: message.body,
      orgId: message.attributes?.orgId?.stringValue ?? '',
      receiveCount: 0,
      receiptHandle: '',
      attributes: {
        ...message.attributes,
        deferrals: { dataType: 'Number', stringValue: String(options.deferrals) },
        deferredUntil: { dataType: 'Number', stringValue: String(options.deferredUntilMs) },
      },
    });
    this.#onDelay?.(options.delaySeconds * 1000);
  }

  /** The dead-letter port (SendMessage to the DLQ). */
  get deadLetterSink(): DeadLetterSink {
    return { send: (body, attributes) => this.send_(body, attributes) };
  }

  /** Takes up to `max` messages as one SQS event (receive count + 1 each). */
  receive(max = 10): SQSEvent | undefined {
    const batch = this.messages.splice(0, max);
    if (batch.length === 0) return undefined;
    this.inFlight.push(...batch);
    return {
      Records: batch.map((m): SQSRecord => {
        m.receiveCount += 1;
        m.receiptHandle = randomUUID();
        return {
          messageId: m.messageId,
          receiptHandle: m.receiptHandle,
          body: m.body,
          attributes: {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(Date.now()),
            SenderId: 'local',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {
            ...Object.fromEntries(
              Object.entries(m.attributes ?? {}).map(([name, value]) => [
                name,
                { ...value, binaryListValues: [], stringListValues: [] },
              ]),
            ),
            ...(m.orgId
              ? {
                  orgId: {
                    stringValue: m.orgId,
                    dataType: 'String',
                    binaryListValues: [],
                    stringListValues: [],
                  },
                }
              : {}),
          },
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: QUEUE_ARN,
          awsRegion: 'us-east-1',
        };
      }),
    };
  }

  private readonly inFlight: Message[] = [];

  /** Applies a handler's answer: failed ones come back (or are redriven), others are deleted. */
  settle(event: SQSEvent, response: SQSBatchResponse | undefined): void {
    const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    for (const record of event.Records) {
      const index = this.inFlight.findIndex((m) => m.messageId === record.messageId);
      const [message] = this.inFlight.splice(index, 1);
      if (!message || !failed.has(message.messageId)) continue;
      if (message.receiveCount >= this.maxReceiveCount) {
        this.deadLetters.push({ body: message.body, via: 'redrive' });
      } else {
        this.messages.push(message);
      }
    }
  }

  /** A message lost in flight (the worker died before answering): it comes back. */
  abandonInFlight(): void {
    this.messages.push(...this.inFlight.splice(0));
  }

  /**
   * Delivers batches to `handler` until the queue is empty (or `maxBatches`). Returns the
   * number of batches delivered.
   */
  async drain(
    handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
    options: { batchSize?: number; maxBatches?: number } = {},
  ): Promise<number> {
    let batches = 0;
    for (;;) {
      if (batches >= (options.maxBatches ?? 1000)) return batches;
      const event = this.receive(options.batchSize ?? 10);
      if (!event) return batches;
      batches += 1;
      this.settle(event, await handler(event));
    }
  }
}
