/**
 * Files on the local disk (local mode's archive, report sink and engine state), written one way.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Mode of the file (e.g. `0o600` for state holding secret values). @default 0o666 less the umask */
  mode?: number;
  /** Mode of directories created on the way. @default 0o777 less the umask */
  dirMode?: number;
  /**
   * Makes sure the file's directory exists (a writer that knows its directories skips the
   * `mkdir`). @default `mkdir -p` with `dirMode`
   */
  ensureDirectory?: ((directory: string) => Promise<void>) | undefined;
  /**
   * Flushes the directory once the file is renamed into it; must resolve only after a flush
   * that began after the rename (a group commit of flushes fits). @default {@link syncDirectory}
   */
  syncDirectory?: ((directory: string) => Promise<void>) | undefined;
}

/** Modes for files that may hold secret values (local engine state): owner only. */
export const PRIVATE_FILE_MODES: Readonly<WriteFileAtomicOptions> = Object.freeze({
  mode: 0o600,
  dirMode: 0o700,
});

/**
 * Writes `data` to `path` so that a reader, or the next start after a crash, sees the old file
 * or the new one, never half of one: a temporary file beside the target (created with `mode`,
 * flushed to disk), then a rename over it, then the directory flushed. Missing directories are
 * created; a failed write leaves no temporary file behind.
 *
 * @example await writeFileAtomic('.data/local.json', `${JSON.stringify(state)}\n`, { mode: 0o600 });
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const directory = dirname(path);
  if (options.ensureDirectory === undefined) {
    await mkdir(directory, {
      recursive: true,
      ...(options.dirMode === undefined ? {} : { mode: options.dirMode }),
    });
  } else {
    await options.ensureDirectory(directory);
  }
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'w', options.mode ?? 0o666);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  // the rename itself survives a power loss only once the directory entry is on disk
  await (options.syncDirectory ?? syncDirectory)(directory);
}

/**
 * Flushes a directory's entries (a rename or a new file) to disk. Some platforms cannot open a
 * directory for fsync (Windows): there the rename is as durable as the OS makes it.
 *
 * @example await syncDirectory('.data');
 */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * The file's text, or `undefined` when it does not exist; any other failure (permissions, a
 * directory) is thrown as Node's error.
 *
 * @example const text = await readTextIfExists('.data/local.json');
 */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
