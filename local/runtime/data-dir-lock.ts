/**
 * One local mode per data directory, ever: `<DATA_DIR>/local.lock` names the process that holds
 * the directory (pid, host, and an identity from the OS that a recycled pid cannot fake).
 *
 * Why a lock file with a liveness check and not an OS lock (flock): Node has no flock without a
 * native module, and a lock file survives kill -9 as well: the holder is dead, the OS says so,
 * and the next start takes the lock over. The file is created by a hard link of a complete
 * temporary file, so it is never seen half-written; a stale lock is taken over by renaming it
 * to a name of our own and checking that what we moved is the stale one (two starts racing for
 * the same stale lock: exactly one wins).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { syncDirectory } from '../persistence/index.ts';
import { LocalModeError } from './errors.ts';
import { isAlive, processIdentity } from './processes.ts';

export const LOCK_FILE_NAME = 'local.lock';

/** Tokens of the locks this process holds (tests run several local modes in one process). */
const heldHere = new Set<string>();

const LockSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  /** From the OS (`processIdentity`); `null` where the platform cannot give one. */
  identity: z.string().nullable(),
  /** Random, per acquisition: tells our lock from a lock someone else wrote in its place. */
  token: z.string(),
  acquiredAt: z.string(),
});
export type LockHolder = z.infer<typeof LockSchema>;

export interface DataDirLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still ours. Idempotent. */
  release(): Promise<void>;
  /** The same, synchronously, for `process.on('exit')`. */
  releaseSync(): void;
}

/**
 * Takes the data directory's lock, taking over a lock whose holder is gone (crash, kill -9).
 *
 * @param describeHolder text about a live holder for the error (its URL from local.json)
 * @throws LocalModeError `LOCAL_ALREADY_RUNNING` while a live process holds it
 */
export async function acquireDataDirLock(
  dataDir: string,
  options: { clock: () => number; describeHolder?: (holder: LockHolder) => Promise<string> },
): Promise<DataDirLock> {
  const file = join(dataDir, LOCK_FILE_NAME);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    identity: (await processIdentity(process.pid)) ?? null,
    token: randomBytes(16).toString('hex'),
    acquiredAt: new Date(options.clock()).toISOString(),
  };
  const temporary = `${file}.${process.pid}.${holder.token}.tmp`;
  await writeFile(temporary, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  // known as ours before the file exists: a taker in this same process must never see our
  // fresh lock as a stale one of a dead holder
  heldHere.add(holder.token);
  let acquired = false;
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        await createExclusive(temporary, file, holder);
        acquired = true;
        await syncDirectory(dataDir);
        return lockHandle(file, holder);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = await readHolder(file);
      if (current === 'missing') continue;
      if (current !== 'unreadable' && (await holds(current))) {
        const about = options.describeHolder ? await options.describeHolder(current) : '';
        throw new LocalModeError(
          'LOCAL_ALREADY_RUNNING',
          `Local mode is already running on ${dataDir} (pid ${current.pid}${about}): stop it first, or start with another DATA_DIR.`,
        );
      }
      await takeOver(file, current);
    }
    throw new LocalModeError(
      'LOCAL_ALREADY_RUNNING',
      `Could not take the lock ${file}: other starts keep taking it. Start one local mode at a time.`,
    );
  } finally {
    if (!acquired) heldHere.delete(holder.token);
    await rm(temporary, { force: true });
  }
}

/**
 * Creates the lock file if there is none (EEXIST otherwise): a hard link of the complete
 * temporary file, or, where the file system has no links, an exclusive create.
 */
async function createExclusive(temporary: string, file: string, holder: LockHolder): Promise<void> {
  try {
    await link(temporary, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    await writeFile(file, `${JSON.stringify(holder)}\n`, { mode: 0o600, flag: 'wx' });
  }
}

/** Whether a lock's holder is alive: the same process (not a recycled pid) on this host. */
async function holds(holder: LockHolder): Promise<boolean> {
  // another machine (a shared folder): nothing here can tell, so it counts as held
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return heldHere.has(holder.token);
  if (!isAlive(holder.pid)) return false;
  if (holder.identity === null) return true;
  return (await processIdentity(holder.pid)) === holder.identity;
}

/**
 * Moves a stale lock out of the way. The rename takes whatever lock file is there now; if that
 * is not the stale one we read (another start took the lock meanwhile), it goes back.
 */
async function takeOver(file: string, stale: LockHolder | 'unreadable'): Promise<void> {
  const moved = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(file, moved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const taken = await readHolder(moved);
  const wasStale =
    stale === 'unreadable'
      ? taken === 'unreadable'
      : taken !== 'unreadable' && taken !== 'missing' && taken.token === stale.token;
  if (!wasStale) {
    // a live lock: put it back (if yet another start took the name meanwhile, theirs stays)
    await link(moved, file).catch(() => undefined);
  }
  await rm(moved, { force: true });
}

async function readHolder(file: string): Promise<LockHolder | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = LockSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function lockHandle(file: string, holder: LockHolder): DataDirLock {
  let released = false;
  return {
    file,
    holder,
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(holder.token);
      const current = await readHolder(file);
      if (current !== 'missing' && current !== 'unreadable' && current.token === holder.token) {
        await rm(file, { force: true });
      }
    },
    releaseSync() {
      if (released) return;
      released = true;
      heldHere.delete(holder.token);
      try {
        if (readFileSync(file, 'utf8').includes(`"token":"${holder.token}"`)) unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}
