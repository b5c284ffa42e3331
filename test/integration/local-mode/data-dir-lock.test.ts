/**
 * The data directory's lock and the orphan finder, on real files and processes.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { acquireDataDirLock, LOCK_FILE_NAME } from '../../../local/runtime/data-dir-lock.ts';
import { LocalModeError } from '../../../local/runtime/errors.ts';
import { isDynamoDbLocalOn } from '../../../local/runtime/orphans.ts';
import { tempDataDir } from './support.ts';

function dataDir(label: string): string {
  const dir = tempDataDir(label);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((done) => child.once('exit', done));
  return child.pid ?? 0;
}

const lockOf = (dir: string, holder: Record<string, unknown>) =>
  writeFileSync(join(dir, LOCK_FILE_NAME), `${JSON.stringify(holder)}\n`);

describe('data directory lock', () => {
  test('a lock left by a process that is gone (kill -9) is taken over', async () => {
    const dir = dataDir('lock-dead');
    lockOf(dir, {
      pid: await deadPid(),
      host: hostname(),
      identity: null,
      token: 'stale',
      acquiredAt: '2026-11-22T08:00:00.000Z',
    });
    const lock = await acquireDataDirLock(dir, { clock: Date.now });
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  test('a live pid that is another process than the holder (a recycled pid) does not hold it', async () => {
    const dir = dataDir('lock-recycled');
    // the parent of this test is alive, but it is not the process the lock names
    lockOf(dir, {
      pid: process.ppid,
      host: hostname(),
      identity: 'linux:some-other-boot:1:1',
      token: 'recycled',
      acquiredAt: '2026-11-22T08:00:00.000Z',
    });
    const lock = await acquireDataDirLock(dir, { clock: Date.now });
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  test('while its holder lives the lock is refused, and two takers of one stale lock: one wins', async () => {
    const dir = dataDir('lock-race');
    lockOf(dir, {
      pid: await deadPid(),
      host: hostname(),
      identity: null,
      token: 'stale',
      acquiredAt: '2026-11-22T08:00:00.000Z',
    });
    const outcomes = await Promise.allSettled([
      acquireDataDirLock(dir, { clock: Date.now, describeHolder: async () => ', here' }),
      acquireDataDirLock(dir, { clock: Date.now, describeHolder: async () => ', here' }),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const error = (lost[0] as PromiseRejectedResult).reason as LocalModeError;
    expect(error).toBeInstanceOf(LocalModeError);
    expect(error.code).toBe('LOCAL_ALREADY_RUNNING');
    expect(error.message).toBe(
      `Local mode is already running on ${dir} (pid ${process.pid}, here): stop it first, or start with another DATA_DIR.`,
    );
    const lock = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireDataDirLock>>>)
      .value;
    await lock.release();
    // released: the next start takes it at once
    const again = await acquireDataDirLock(dir, { clock: Date.now });
    await again.release();
  });
});

describe('orphaned DynamoDB Local', () => {
  const jar = '../../lib/dynamodb_local_2026-01-16/DynamoDBLocal.jar';
  const argv = (...rest: string[]) => ['java', '-Djava.library.path=x', '-jar', jar, ...rest];
  const info = (args: string[]) => ({ pid: 1, argv: args, command: args.join(' ') });

  test('only DynamoDB Local on exactly this data directory is ours', () => {
    const ours = '/home/me/app/.data/dynamodb';
    expect(
      isDynamoDbLocalOn(info(argv('-dbPath', ours, '-port', '8000', '-sharedDb')), [ours]),
    ).toBe(true);
    // another directory, one that only starts with ours, in memory, or not DynamoDB Local
    expect(isDynamoDbLocalOn(info(argv('-dbPath', '/home/me/other/.data/dynamodb')), [ours])).toBe(
      false,
    );
    expect(isDynamoDbLocalOn(info(argv('-dbPath', `${ours}-old`)), [ours])).toBe(false);
    expect(isDynamoDbLocalOn(info(argv('-inMemory', '-port', '8000')), [ours])).toBe(false);
    expect(isDynamoDbLocalOn(info(['vim', '-dbPath', ours]), [ours])).toBe(false);
  });
});
