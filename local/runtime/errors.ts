/** Stable codes of the reasons local mode cannot start or must stop (docs/errors.md). */
export const LOCAL_MODE_ERROR_CODES = [
  'LOCAL_PORT_IN_USE',
  'LOCAL_ALREADY_RUNNING',
  'LOCAL_JAVA_MISSING',
  'LOCAL_CONFIG_INVALID',
  'LOCAL_ENGINE_FAILED',
  'LOCAL_DATA_FILE_UNUSABLE',
  'LOCAL_DEMO_FAILED',
] as const;

export type LocalModeErrorCode = (typeof LOCAL_MODE_ERROR_CODES)[number];

/**
 * Why local mode could not start, in one line a user can act on (`npm start` prints the message
 * alone, without a stack). `cause` keeps the underlying error for the log.
 */
export class LocalModeError extends Error {
  override readonly name = 'LocalModeError';
  readonly code: LocalModeErrorCode;

  constructor(code: LocalModeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
