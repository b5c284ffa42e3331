import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EngineState } from './engine.ts';

/**
 * Reads the persisted state; a missing file is an empty state. A file that is not ours fails
 * loudly with its path (never its content: it holds secret values).
 */
export async function loadState(file: string): Promise<EngineState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { secrets: [] };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(
      `${file} is not valid JSON; move it aside to start the local Secrets Manager empty.`,
    );
  }
  const secrets = (parsed as { secrets?: unknown } | null)?.secrets;
  if (!Array.isArray(secrets)) {
    throw new Error(
      `${file} has no "secrets" list; it was not written by the local Secrets Manager.`,
    );
  }
  return parsed as EngineState;
}

/**
 * Writes the state atomically: a temporary file beside the target (mode 0600, fsynced), then a
 * rename, so a crash leaves either the old or the new file, never half of one.
 */
export async function saveState(file: string, state: EngineState): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`, 'utf8');
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
