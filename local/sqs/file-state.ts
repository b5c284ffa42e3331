import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../shared/files.ts';
import type { EngineState } from './engine.ts';

/** Reads the persisted queues; a missing file is an empty state. A foreign file fails loudly. */
export async function loadState(file: string): Promise<EngineState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, queues: [] };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; move it aside to start the local SQS empty.`);
  }
  const state = parsed as Partial<EngineState> | null;
  if (state?.version !== 1 || !Array.isArray(state.queues)) {
    throw new Error(`${file} has no "queues" list; it was not written by the local SQS.`);
  }
  return state as EngineState;
}

/** Writes atomically (temporary file, fsync, rename): a crash leaves the old or the new file. */
export async function saveState(file: string, state: EngineState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(state)}\n`, { mode: 0o600, dirMode: 0o700 });
}
