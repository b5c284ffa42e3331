/**
 * Whole-file JSON documents (the local Secrets Manager's state, local.json): written atomically
 * on every change, read with salvage when damaged.
 */
import { readFile } from 'node:fs/promises';
import { PRIVATE_FILE_MODES, writeFileAtomic } from '../../shared/files.ts';
import { DataFileError } from './errors.ts';
import { keepAside } from './keep-aside.ts';
import { type PartialJson, parsePartialJson, type SalvageReport } from './salvage.ts';

/** What a document file holds and how to save what is left of a damaged one. */
export interface DocumentSpec<T> {
  /** Absolute path. */
  file: string;
  /** The document from its parsed JSON, or `undefined` when it is not a valid one. */
  parse(value: unknown): T | undefined;
  /**
   * What can be saved from a damaged file: a valid document built from its complete records,
   * with how many records were kept and lost.
   */
  salvage(damaged: { partial: PartialJson; text: string }): {
    document: T;
    kept: number;
    lost: number;
  };
  /** The file's text for a document. */
  serialize(document: T): string;
}

export interface LoadedDocument<T> {
  /** `undefined` when there was no file. */
  document: T | undefined;
  /** Set when the file was damaged: kept aside and rewritten with what was saved. */
  salvage: SalvageReport | undefined;
}

/**
 * Reads a document. A damaged one (not JSON, cut short, or not this document's shape) is kept
 * aside untouched (`<file>.damaged-<time>`) and replaced by what `spec.salvage` saved from it.
 *
 * @throws DataFileError `LOCAL_DATA_FILE_IO` when the file cannot be read
 */
export async function loadDocument<T>(
  spec: DocumentSpec<T>,
  nowMs: number = Date.now(),
): Promise<LoadedDocument<T>> {
  let text: string;
  try {
    text = await readFile(spec.file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { document: undefined, salvage: undefined };
    }
    throw new DataFileError(
      'LOCAL_DATA_FILE_IO',
      spec.file,
      `${spec.file} cannot be read: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  const partial = parsePartialJson(text);
  if (partial.complete) {
    const document = spec.parse(partial.value);
    if (document !== undefined) return { document, salvage: undefined };
  }
  const reason = partial.complete
    ? 'valid JSON, but not the expected shape'
    : `${partial.reason ?? 'not valid JSON'} (byte ${partial.stoppedAt} of ${Buffer.byteLength(text)})`;
  const saved = spec.salvage({ partial, text });
  const keptAt = await keepAside(spec.file, 'damaged', nowMs);
  await writeFileAtomic(spec.file, spec.serialize(saved.document), PRIVATE_FILE_MODES);
  return {
    document: saved.document,
    salvage: { file: spec.file, keptAt, kept: saved.kept, lost: saved.lost, reason },
  };
}
