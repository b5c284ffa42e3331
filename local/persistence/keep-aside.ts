import { constants } from 'node:fs';
import { copyFile, link } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { syncDirectory } from '../../shared/files.ts';
import { DataFileError } from './errors.ts';

/**
 * Keeps the current content of `file` as `<file>.<label>-<UTC timestamp>`
 * (`sqs.jsonl.damaged-20261122T081500Z`, then `…-2`, `…-3` if that name is taken) and returns
 * that path. `file` itself stays where it is: the caller replaces it atomically next (with what
 * it salvaged, or a fresh start). A crash in between leaves the damaged file in place, so the
 * next start salvages it again; nothing is ever deleted or overwritten.
 *
 * A hard link costs nothing and refuses an existing name; where links are not supported the
 * file is copied (also refusing an existing name).
 *
 * @example
 * const keptAt = await keepAside('.data/sqs.jsonl', 'damaged', Date.now());
 * await writeFileAtomic('.data/sqs.jsonl', salvaged);
 */
export async function keepAside(file: string, label: string, nowMs: number): Promise<string> {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  const base = join(dirname(file), `${basename(file)}.${label}-${stamp}`);
  for (let n = 1; n < 1000; n++) {
    const target = n === 1 ? base : `${base}-${n}`;
    try {
      await link(file, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') {
        throw error;
      }
      try {
        await copyFile(file, target, constants.COPYFILE_EXCL);
      } catch (copyError) {
        if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw copyError;
      }
    }
    await syncDirectory(dirname(file));
    return target;
  }
  throw new DataFileError(
    'LOCAL_DATA_FILE_IO',
    file,
    `could not find a free name to keep ${file} aside`,
  );
}
