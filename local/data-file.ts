/**
 * The data files local engines keep their state in (`.data/`): read back at start, and refused
 * with the file's path, never its content (the secrets file holds secret values), when they
 * are not the engine's own.
 */
import { readTextIfExists } from '../shared/files.ts';

/** A data file an engine cannot read as its own; `code` is `LOCAL_DATA_FILE_INVALID`. */
export class DataFileError extends Error {
  override readonly name = 'DataFileError';
  readonly code = 'LOCAL_DATA_FILE_INVALID';
  /** The path of the file. */
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

/**
 * The JSON value in `file`, or `undefined` when there is no file.
 *
 * @throws DataFileError when the file is not JSON, saying to move it aside (`engine` names who
 *   starts empty then)
 * @example const state = await readJsonDataFile('.data/sqs.json', 'the local SQS');
 */
export async function readJsonDataFile(file: string, engine: string): Promise<unknown> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataFileError(
      file,
      `${file} is not valid JSON; move it aside to start ${engine} empty.`,
      // the parser's message quotes the text: keep its class only
      { cause: error instanceof Error ? error.name : 'SyntaxError' },
    );
  }
}
