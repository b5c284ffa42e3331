/**
 * The event path's public door: envelope and dedupe keys, ports, and their adapters (SQS,
 * S3, files, EventBridge, in-memory).
 */
export { envelopeData } from './claim-check.ts';
export {
  bodyDedupeKey,
  type CreateEnvelopeInput,
  createEnvelope,
  type DedupeKeyInput,
  dedupeKeyFor,
  EVENT_TYPES,
  type EventEnvelope,
  type EventType,
  eventEnvelopeSchema,
  eventTypeSchema,
  isEventType,
  parseEnvelope,
  type Resolution,
  resolutionSchema,
  serializeEnvelope,
} from './envelope.ts';
export {
  ArchiveError,
  BusPublishError,
  EnvelopeDataMissingError,
  EnvelopeInvalidError,
  EVENTS_ERROR_CODES,
  EventsError,
  type EventsErrorCode,
  MessageTooLargeError,
  QueueSendError,
} from './errors.ts';
export {
  createEventBridgeBus,
  detailTypeFor,
  EVENTBRIDGE_MAX_ENTRY_BYTES,
  EVENTBRIDGE_SOURCE,
  type EventBridgeBusOptions,
  eventBridgeEntryBytes,
  toEventBridgeEntry,
} from './eventbridge.ts';
export { createFileArchive, type FileArchiveOptions } from './file-archive.ts';
export {
  type MemoryEventBus,
  type MemoryEventQueue,
  type MemoryQueueMessage,
  type MemoryRawArchive,
  memoryEventBus,
  memoryEventQueue,
  memoryRawArchive,
} from './memory.ts';
export type { ArchiveMeta, EventBus, EventQueue, RawArchive } from './ports.ts';
export { createS3Archive, type S3ArchiveOptions } from './s3-archive.ts';
export {
  createSqsEventQueue,
  envelopeMessageAttributes,
  envelopeMessageBytes,
  SQS_MAX_MESSAGE_BYTES,
  type SqsEventQueueOptions,
} from './sqs-queue.ts';
