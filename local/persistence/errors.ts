/** Stable codes of {@link DataFileError} (docs/errors.md). */
export const DATA_FILE_ERROR_CODES = [
  /** The file was written by a newer version of local mode: reading it could lose data. */
  'LOCAL_DATA_FILE_NEWER',
  /** The file cannot be read or written (permissions, disk). */
  'LOCAL_DATA_FILE_IO',
  /** A journal write failed and the file could not be restored to its last good length. */
  'LOCAL_JOURNAL_BROKEN',
  /** The journal was closed. */
  'LOCAL_JOURNAL_CLOSED',
] as const;

export type DataFileErrorCode = (typeof DATA_FILE_ERROR_CODES)[number];

/** A data file of local mode cannot be used; the message names the file and what to do. */
export class DataFileError extends Error {
  override readonly name = 'DataFileError';
  readonly code: DataFileErrorCode;
  readonly file: string;

  constructor(
    code: DataFileErrorCode,
    file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.file = file;
  }
}
