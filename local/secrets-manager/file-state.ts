import { writeFileAtomic } from '../../shared/files.ts';
import { DataFileError, readJsonDataFile } from '../data-file.ts';
import type { EngineState } from './engine.ts';

/**
 * Reads the persisted state; a missing file is an empty state. A file that is not ours fails
 * loudly with its path (never its content: it holds secret values).
 */
export async function loadState(file: string): Promise<EngineState> {
  const parsed = await readJsonDataFile(file, 'the local Secrets Manager');
  if (parsed === undefined) return { secrets: [] };
  const secrets = (parsed as { secrets?: unknown } | null)?.secrets;
  if (!Array.isArray(secrets)) {
    throw new DataFileError(
      file,
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
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`, {
    mode: 0o600,
    dirMode: 0o700,
  });
}
