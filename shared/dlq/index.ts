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
  type DeadLetter,
  type DeadLetterOptions,
  type InDoubtAction,
  listDeadLetters,
  type ReplayOptions,
  type ReplayResolution,
  type ReplayResult,
  replayDeadLetters,
} from './dead-letters.ts';
