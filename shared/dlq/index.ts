/**
 * Dead letters: the message contract of the DLQ and the inspection / replay tools the CLI
 * drives. See docs/dead-letters.md.
 */
export {
  DEAD_LETTER_ATTRIBUTES,
  type DeadLetterFailure,
  DLQ_ERROR_CODES,
  deadLetterAttributes,
  FAILURE_CODE_MISSING,
  MAX_FAILURE_REASON_LENGTH,
  MAX_RECEIVE_COUNT,
  MAX_RECEIVES_EXCEEDED,
} from './contract.ts';
export {
  countDeadLetters,
  type DeadLetter,
  type DeadLetterOptions,
  getDeadLetter,
  type InDoubtAction,
  listDeadLetters,
  type ReplayOptions,
  type ReplayResolution,
  type ReplayResult,
  replayDeadLetters,
} from './dead-letters.ts';
export {
  type DeadLetterFilter,
  DeadLetterFilterSchema,
  describeFilter,
  describeReplayRequest,
  FailureCodeSchema,
  failedAtOf,
  isEmptyFilter,
  matchesDeadLetter,
} from './filter.ts';
export {
  createReplayPacer,
  estimateReplayMs,
  type ReplayPacer,
  type ReplayPacerOptions,
} from './pacing.ts';
export { type RecordedReplayOptions, runRecordedReplay } from './recorded-replay.ts';
