/**
 * Ports of the event path. Use cases take these as arguments; adapters: SQS
 * (`sqs-queue.ts`), S3 and files (`s3-archive.ts`, `file-archive.ts`), EventBridge
 * (`eventbridge-bus.ts`), and in-memory ones for tests and benches (`memory.ts`).
 */
import type { EventEnvelope } from './envelope.ts';

/** Where events wait for the worker (SQS in AWS). */
export interface EventQueue {
  /**
   * Stores one envelope durably; resolves only once it is stored.
   * @throws MessageTooLargeError when the envelope does not fit one message (nothing sent)
   * @throws QueueSendError when the queue did not store it
   */
  send(envelope: EventEnvelope): Promise<void>;
  /**
   * Stores several envelopes (the reconciler); rejects with a {@link QueueSendError} listing
   * every envelope not stored, after trying all of them.
   */
  sendBatch?(envelopes: readonly EventEnvelope[]): Promise<void>;
}

/** What is stored beside an archived raw body. */
export interface ArchiveMeta {
  orgId: string;
  /** Envelope id (dedupe key) the body became. */
  eventId: string;
  type: string;
  receivedAt: string;
  /** The request's content type, as sent (may be absent). */
  contentType?: string;
}

/** Raw webhook bodies as received, for audit, replay and claim-check envelopes. */
export interface RawArchive {
  /** Stores `body` under `key` (overwrites). @throws ArchiveError */
  put(key: string, body: Uint8Array, meta: ArchiveMeta): Promise<void>;
  /**
   * The body stored under `key`, or `undefined` when there is none.
   * @throws ArchiveError on any other failure
   */
  get(key: string): Promise<Uint8Array | undefined>;
}

/** Where normalized events are published (EventBridge in AWS). */
export interface EventBus {
  /** @throws BusPublishError listing the envelopes not published */
  publish(envelopes: readonly EventEnvelope[]): Promise<void>;
}
