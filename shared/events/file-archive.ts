import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../files.ts';
import { ArchiveError } from './errors.ts';
import type { RawArchive } from './ports.ts';

/** Options of {@link createFileArchive}. */
export interface FileArchiveOptions {
  /** Directory the keys are resolved under, e.g. `.data/archive`. Created on first write. */
  baseDir: string;
}

/**
 * {@link RawArchive} on the local disk (local mode): `<baseDir>/<key>` holds the body and
 * `<baseDir>/<key>.meta.json` the {@link ArchiveMeta}. Writes go to a temporary file renamed
 * into place, so a crash never leaves half a body. A key that would leave `baseDir`
 * (`../`, absolute) is refused.
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

  return {
    async put(key, body, meta) {
      const path = pathOf(key);
      try {
        // two independent files: written side by side, the answer waits for the slower
        await Promise.all([
          writeFileAtomic(path, body),
          writeFileAtomic(`${path}.meta.json`, `${JSON.stringify(meta)}\n`),
        ]);
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
