/**
 * Local SQS: an endpoint speaking the SQS JSON protocol (for the real `@aws-sdk/client-sqs`)
 * and the local equivalent of Lambda's SQS event source mapping. See docs/local-engines.md.
 */
export {
  type EngineState,
  MAX_MESSAGE_BYTES,
  OPERATIONS,
  type Operation,
  SqsEngine,
  SqsFault,
  type StoredMessage,
  type StoredQueue,
} from './engine.ts';
export {
  type SqsBatchHandler,
  type SqsEventSource,
  type SqsEventSourceOptions,
  type SqsEventSourceStats,
  startSqsEventSource,
} from './event-source.ts';
export {
  legacySqsSpec,
  replaySqsRecords,
  type SqsRecord,
  sqsJournalSpec,
  sqsRecordsOf,
} from './journal.ts';
export {
  type LocalSqs,
  type LocalSqsOptions,
  type LocalSqsStats,
  type SqsFaultSpec,
  startLocalSqs,
} from './server.ts';
