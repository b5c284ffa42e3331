/**
 * `npm start` after a crash, as real processes: npm, its shell, node and DynamoDB Local's Java.
 * kill -9 of local mode leaves Java running; the next start finds it by its command line (it
 * names this data directory), stops it and runs exactly one. SIGTERM to npm, or to node, stops
 * everything, engines included. One test: every start costs seconds.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { LOCK_FILE_NAME } from '../../../local/runtime/data-dir-lock.ts';
import { findDynamoDbLocal } from '../../../local/runtime/orphans.ts';
import { hasExited, isAlive } from '../../../local/runtime/processes.ts';
import {
  bannerValue,
  type NpmStart,
  npmStart,
  readState,
  tempDataDir,
  untilReady,
} from './support.ts';

const running: NpmStart[] = [];
const strays: number[] = [];
const dataDirs: string[] = [];

// a failing test must not leave local mode or Java behind
afterEach(async () => {
  await Promise.all(running.splice(0).map((run) => run.stop('SIGKILL')));
  for (const dataDir of dataDirs.splice(0)) strays.push(...(await javaPids(dataDir)));
  for (const pid of strays.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

async function javaPids(dataDir: string): Promise<number[]> {
  return (await findDynamoDbLocal(join(dataDir, 'dynamodb'))).map((p) => p.pid);
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

async function startThroughNpm(dataDir: string): Promise<{ run: NpmStart; nodePid: number }> {
  const run = npmStart({ PORT: '0', DATA_DIR: dataDir }, { throughNpm: true });
  running.push(run);
  await untilReady(run, 90_000);
  const nodePid = readState(dataDir).pid;
  strays.push(nodePid);
  return { run, nodePid };
}

describe('npm start after a crash', () => {
  test('kill -9 then npm start leaves exactly one DynamoDB Local on the data directory; SIGTERM to npm or to node stops everything', async () => {
    const dataDir = tempDataDir('crash');
    dataDirs.push(dataDir);

    // 1. kill -9 of local mode: its Java survives, an orphan on this data directory
    const first = await startThroughNpm(dataDir);
    const [orphan, ...others] = await javaPids(dataDir);
    expect(others).toEqual([]);
    if (orphan === undefined) throw new Error('no DynamoDB Local found for the data directory');
    strays.push(orphan);
    process.kill(first.nodePid, 'SIGKILL');
    await first.run.exited;
    await sleep(500);
    expect(isAlive(orphan)).toBe(true);
    expect(await javaPids(dataDir)).toEqual([orphan]);

    // 2. the next start stops the orphan and runs one DynamoDB Local of its own
    const second = await startThroughNpm(dataDir);
    const [java, ...more] = await javaPids(dataDir);
    expect(more).toEqual([]);
    expect(java).not.toBe(orphan);
    // exited (a zombie until init reaps it: its parent, the killed local mode, is gone)
    expect(await hasExited(orphan)).toBe(true);
    expect(bannerValue(second.run.stdout(), 'recovered')).toContain(`pid ${orphan}`);
    // the data of before the crash is there: the demo org is not registered again
    expect(second.run.stdout()).not.toContain('(registered now)');
    expect((await fetch(readState(dataDir).urls.health)).status).toBe(200);

    // 3. SIGTERM to npm (not to node): npm goes at once, local mode drains and stops with it
    second.run.child.kill('SIGTERM');
    await until('node of the second start is gone', () => !isAlive(second.nodePid));
    await until('its DynamoDB Local is gone', async () => (await javaPids(dataDir)).length === 0);
    expect(readState(dataDir).running).toBe(false);
    expect(existsSync(join(dataDir, LOCK_FILE_NAME))).toBe(false);

    // 4. SIGTERM to node (npm's child): it drains and stops, and npm ends with it
    const third = await startThroughNpm(dataDir);
    process.kill(third.nodePid, 'SIGTERM');
    expect(await third.run.exited).toBe(0);
    expect(isAlive(third.nodePid)).toBe(false);
    expect(await javaPids(dataDir)).toEqual([]);
    expect(readState(dataDir).running).toBe(false);
  }, 240_000);
});
