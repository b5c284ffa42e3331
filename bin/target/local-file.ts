/**
 * `<data-dir>/local.json`: what a running local mode (`npm start`) serves. Its schema is local
 * mode's own (local/runtime/state-file.ts); this module reads it with messages for the CLI.
 */
import { join, resolve } from 'node:path';
import { type LocalState, LocalStateSchema } from '../../local/runtime/state-file.ts';
import { readTextIfExists } from '../../shared/files.ts';
import { CliError } from '../errors.ts';

export type LocalFile = LocalState;

export const LOCAL_FILE_NAME = 'local.json';

/** `<dataDir>/local.json`, resolved against `cwd`. */
export function localFilePath(cwd: string, dataDir: string): string {
  return join(resolve(cwd, dataDir), LOCAL_FILE_NAME);
}

/** Reads and validates the file; `undefined` when it does not exist. */
export async function readLocalFile(path: string): Promise<LocalFile | undefined> {
  let text: string | undefined;
  try {
    text = await readTextIfExists(path);
  } catch (error) {
    throw new CliError(
      'CLI_TARGET_UNREACHABLE',
      `Cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      {
        cause: error,
      },
    );
  }
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError('CLI_TARGET_UNREACHABLE', `${path} is not valid JSON.`, {
      hint: 'Restart local mode (`npm start`): it rewrites the file.',
      cause: error,
    });
  }
  const parsed = LocalStateSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new CliError(
      'CLI_TARGET_UNREACHABLE',
      `${path} is not a local-mode state this CLI understands: ${problems.slice(0, 3).join('; ')}.`,
      { hint: 'Restart local mode (`npm start`) from the same checkout as this CLI.' },
    );
  }
  return parsed.data;
}

/** Throws unless the local mode that wrote the file is still running. */
export function assertRunning(
  file: LocalFile,
  path: string,
  isAlive: (pid: number) => boolean,
): void {
  if (!file.running) {
    throw new CliError(
      'CLI_TARGET_UNREACHABLE',
      `Local mode is not running (it stopped${file.stoppedAt === undefined ? '' : ` at ${file.stoppedAt}`}).`,
      {
        hint: `Start it with \`npm start\` (state: ${path}).`,
      },
    );
  }
  if (!isAlive(file.pid)) {
    throw new CliError(
      'CLI_TARGET_UNREACHABLE',
      `Local mode (pid ${file.pid}) is no longer running: it did not stop cleanly.`,
      {
        hint: 'Start it again with `npm start`; its data is kept.',
      },
    );
  }
}

/** Whether a process with `pid` exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
