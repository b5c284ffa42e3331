import { type EventEnvelope, parseEnvelope, serializeEnvelope } from './envelope.ts';
import { MessageTooLargeError } from './errors.ts';
import type { ArchiveMeta, EventBus, EventQueue, RawArchive } from './ports.ts';
import {
  envelopeMessageAttributes,
  envelopeMessageBytes,
  SQS_MAX_MESSAGE_BYTES,
} from './sqs-queue.ts';

/** One message as the in-memory queue stores it: what SQS would hold. */
export interface MemoryQueueMessage {
  body: string;
  attributes: Record<string, string>;
}

/** An in-memory {@link EventQueue} (tests, benches): keeps serialized messages like SQS. */
export interface MemoryEventQueue extends EventQueue {
  sendBatch(envelopes: readonly EventEnvelope[]): Promise<void>;
  /** Messages in send order. */
  readonly messages: readonly MemoryQueueMessage[];
  /** Every message body parsed back with the envelope schema (as a worker would). */
  envelopes(): EventEnvelope[];
  clear(): void;
}

/**
 * @param options.maxMessageBytes - refuse larger messages as SQS does
 *   (@default SQS_MAX_MESSAGE_BYTES)
 * @example
 * const queue = memoryEventQueue();
 * await receiveWebhook({ queue, … }, request);
 * queue.envelopes()[0]?.type; // 'task.completed'
 */
export function memoryEventQueue(options: { maxMessageBytes?: number } = {}): MemoryEventQueue {
  const limit = options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
  const messages: MemoryQueueMessage[] = [];
  const toMessage = (envelope: EventEnvelope): MemoryQueueMessage => {
    const body = serializeEnvelope(envelope);
    const bytes = envelopeMessageBytes(envelope, body);
    if (bytes > limit) throw new MessageTooLargeError('the message', envelope.id, bytes, limit);
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(envelopeMessageAttributes(envelope))) {
      attributes[name] = value.StringValue ?? '';
    }
    return { body, attributes };
  };
  return {
    messages,
    async send(envelope) {
      messages.push(toMessage(envelope));
    },
    async sendBatch(envelopes) {
      const batch = envelopes.map(toMessage);
      messages.push(...batch);
    },
    envelopes: () => messages.map((m) => parseEnvelope(m.body)),
    clear: () => {
      messages.length = 0;
    },
  };
}

/** An in-memory {@link RawArchive}. */
export interface MemoryRawArchive extends RawArchive {
  readonly objects: ReadonlyMap<string, { body: Uint8Array; meta: ArchiveMeta }>;
}

export function memoryRawArchive(): MemoryRawArchive {
  const objects = new Map<string, { body: Uint8Array; meta: ArchiveMeta }>();
  return {
    objects,
    async put(key, body, meta) {
      objects.set(key, { body: new Uint8Array(body), meta: { ...meta } });
    },
    async get(key) {
      return objects.get(key)?.body;
    },
  };
}

/** An in-memory {@link EventBus}: keeps what was published. */
export interface MemoryEventBus extends EventBus {
  readonly published: readonly EventEnvelope[];
}

export function memoryEventBus(): MemoryEventBus {
  const published: EventEnvelope[] = [];
  return {
    published,
    async publish(envelopes) {
      published.push(...envelopes);
    },
  };
}
