import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
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
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
