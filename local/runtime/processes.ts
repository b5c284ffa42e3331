/**
 * What local mode asks the OS about processes: whether one is alive, a stable identity (so a
 * recycled pid is not mistaken for the process that held a lock), its command line, and
 * stopping one. Linux reads /proc; macOS asks `ps`; elsewhere only liveness is known.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { sleep } from '../../shared/async.ts';
import { LocalModeError } from './errors.ts';

const run = promisify(execFile);

/** Whether a process with this id exists (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A string that names this process and no other, ever (pid + boot + start time), or
 * `undefined` when the process is gone or the platform cannot say.
 */
export async function processIdentity(pid: number): Promise<string | undefined> {
  if (process.platform === 'linux') {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // fields after the command name, which may itself hold spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const startTicks = fields[19];
      const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
      return startTicks === undefined ? undefined : `linux:${boot}:${pid}:${startTicks}`;
    } catch {
      return undefined;
    }
  }
  if (process.platform === 'darwin') {
    try {
      const { stdout } = await run('ps', ['-o', 'lstart=', '-p', String(pid)]);
      const started = stdout.trim();
      return started === '' ? undefined : `darwin:${pid}:${started}`;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** One process and its arguments. */
export interface ProcessInfo {
  pid: number;
  /** The command line as arguments (on macOS split on spaces: paths with spaces are joined back by the matcher). */
  argv: string[];
  /** The command line as one string. */
  command: string;
}

/** Every process this user can see, with its command line (empty where the platform cannot list). */
export async function listProcesses(): Promise<ProcessInfo[]> {
  if (process.platform === 'linux') {
    const found: ProcessInfo[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const raw = await readFile(`/proc/${entry}/cmdline`, 'utf8');
        const argv = raw.split('\u0000').filter((arg, i, all) => arg !== '' || i < all.length - 1);
        if (argv.length > 0) found.push({ pid: Number(entry), argv, command: argv.join(' ') });
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    return found;
  }
  if (process.platform === 'darwin') {
    const { stdout } = await run('ps', ['-axww', '-o', 'pid=,command='], { maxBuffer: 16 << 20 });
    return stdout
      .split('\n')
      .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => ({ pid: Number(m[1]), argv: (m[2] ?? '').split(' '), command: m[2] ?? '' }));
  }
  return [];
}

/**
 * Sends SIGTERM, waits up to `graceMs` for the process to go, then SIGKILL.
 * @returns how it ended: `'terminated'`, `'killed'`, or `'gone'` if it was already gone
 */
export async function stopProcess(
  pid: number,
  graceMs = 5_000,
): Promise<'terminated' | 'killed' | 'gone'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    throw error;
  }
  if (await exitedWithin(pid, graceMs)) return 'terminated';
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'terminated';
    throw error;
  }
  if (await exitedWithin(pid, 5_000)) return 'killed';
  throw new LocalModeError('LOCAL_ENGINE_FAILED', `process ${pid} did not exit after SIGKILL`);
}

async function exitedWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await hasExited(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

/**
 * Whether `pid` has exited: gone, or a zombie (exited, not reaped yet: its parent died and init
 * has not collected it).
 */
export async function hasExited(pid: number): Promise<boolean> {
  return !isAlive(pid) || (await isZombie(pid));
}

/** A process that exited but was not reaped yet (its parent died) is gone for our purposes. */
async function isZombie(pid: number): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
