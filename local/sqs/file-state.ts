import { writeFileAtomic } from '../../shared/files.ts';
import { DataFileError, readJsonDataFile } from '../data-file.ts';
import type { EngineState } from './engine.ts';

/** Reads the persisted queues; a missing file is an empty state. A foreign file fails loudly. */
export async function loadState(file: string): Promise<EngineState> {
  const parsed = await readJsonDataFile(file, 'the local SQS');
  if (parsed === undefined) return { version: 1, queues: [] };
  const state = parsed as Partial<EngineState> | null;
  if (state?.version !== 1 || !Array.isArray(state.queues)) {
    throw new DataFileError(
      file,
      `${file} has no "queues" list; it was not written by the local SQS.`,
    );
  }
  return state as EngineState;
}

/** Writes atomically (temporary file, fsync, rename): a crash leaves the old or the new file. */
export async function saveState(file: string, state: EngineState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(state)}\n`, { mode: 0o600, dirMode: 0o700 });
}
