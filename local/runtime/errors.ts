/** Stable codes of the reasons local mode cannot start. */
export type LocalModeErrorCode =
  | 'PORT_IN_USE'
  | 'ALREADY_RUNNING'
  | 'JAVA_MISSING'
  | 'CONFIG_INVALID'
  | 'ENGINE_FAILED'
  | 'DATA_FILE'
  | 'DEMO_FAILED';

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
