import { mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { createGroupCommit } from '../async.ts';
import { syncDirectory, writeFileAtomic } from '../files.ts';
import { ArchiveError } from './errors.ts';
import type { RawArchive } from './ports.ts';

/** Options of {@link createFileArchive}. */
export interface FileArchiveOptions {
  /** Directory the keys are resolved under, e.g. `.data/archive`. Created on first write. */
  baseDir: string;
}

/**
 * {@link RawArchive} on the local disk (local mode): `<baseDir>/<key>` holds the body and
 * `<baseDir>/<key>.meta.json` the {@link ArchiveMeta}. Writes go to a temporary file, flushed
 * and renamed into place, so a crash never leaves half a body; a put resolves once the
 * directory entries are flushed too (puts waiting together share that flush). A key that
 * would leave `baseDir` (`../`, absolute) is refused.
 *
 * @example
 * const archive = createFileArchive({ baseDir: '.data/archive' });
 */
export function createFileArchive(options: FileArchiveOptions): RawArchive {
  const base = resolve(options.baseDir);

  const pathOf = (key: string): string => {
    const path = resolve(base, key);
    const inside = relative(base, path);
    if (key === '' || inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new ArchiveError(`archive key ${JSON.stringify(key)} leaves the archive directory`);
    }
    return path;
  };

  // a burst writes into one directory (an org's day): make it once, and let the renames that
  // wait together share one flush of it
  const made = new Set<string>();
  const ensureDirectory = async (directory: string) => {
    if (made.has(directory)) return;
    await mkdir(directory, { recursive: true });
    made.add(directory);
  };
  const flush = createGroupCommit<string>({
    maxItems: 1_000,
    async commit(directories) {
      for (const directory of new Set(directories)) await syncDirectory(directory);
      return undefined;
    },
  });
  const write = (path: string, data: string | Uint8Array) =>
    writeFileAtomic(path, data, { ensureDirectory, syncDirectory: flush });

  return {
    async put(key, body, meta) {
      const path = pathOf(key);
      const files = () =>
        // two independent files: written side by side, the answer waits for the slower
        Promise.all([write(path, body), write(`${path}.meta.json`, `${JSON.stringify(meta)}\n`)]);
      try {
        try {
          await files();
        } catch (error) {
          // a directory removed since it was made: make it again, once
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          made.delete(dirname(path));
          await files();
        }
      } catch (error) {
        throw new ArchiveError(`could not write ${key} under ${base}`, { cause: error });
      }
    },

    async get(key) {
      const path = pathOf(key);
      try {
        return new Uint8Array(await readFile(path));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ArchiveError(`could not read ${key} under ${base}`, { cause: error });
      }
    },
  };
}
