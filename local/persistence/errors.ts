/** Stable codes of {@link DataFileError}. */
export type DataFileErrorCode =
  /** The file was written by a newer version of local mode: reading it could lose data. */
  | 'DATA_FILE_NEWER'
  /** The file cannot be read or written (permissions, disk). */
  | 'DATA_FILE_IO'
  /** A journal write failed and the file could not be restored to its last good length. */
  | 'JOURNAL_BROKEN'
  /** The journal was closed. */
  | 'JOURNAL_CLOSED';

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
