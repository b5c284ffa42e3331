/**
 * The supervisor's policy on real child processes (a small node process stands in for Java, so
 * the test takes milliseconds): restart after a death, give up after too many.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { isAlive } from '../../../local/runtime/processes.ts';
import {
  type SupervisedProcess,
  type SupervisedStatus,
  supervise,
} from '../../../local/runtime/supervisor.ts';

const started: number[] = [];

afterEach(() => {
  for (const pid of started.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

/** A process that runs until it is killed. */
async function startIdle(): Promise<SupervisedProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise<void>((done, fail) => {
    child.once('spawn', done);
    child.once('error', fail);
  });
  started.push(child.pid ?? 0);
  return {
    pid: child.pid,
    onExit: (listener) => {
      child.once('exit', (code, signal) => listener(code, signal));
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('engine supervisor', () => {
  test('a process that dies is started again, and whenUp waits for it', async () => {
    const changes: SupervisedStatus[] = [];
    const engine = await supervise({
      name: 'idle',
      start: startIdle,
      restartDelaysMs: [50],
      onChange: (status) => changes.push(status),
    });
    const first = engine.status().pid ?? 0;
    process.kill(first, 'SIGKILL');
    await until('it is restarting', () => engine.status().state === 'restarting');
    expect(engine.status().lastExit?.signal).toBe('SIGKILL');
    await engine.whenUp();
    expect(engine.status()).toMatchObject({ state: 'up', restarts: 1 });
    expect(engine.status().pid).not.toBe(first);
    expect(changes.map((c) => c.state)).toEqual(['restarting', 'up']);
    await engine.stop();
    expect(isAlive(engine.status().pid ?? started.at(-1) ?? 0)).toBe(false);
    expect(engine.status().state).toBe('stopped');
  });

  test('one death more than maxRestarts within the window gives up: failed, and told once', async () => {
    const gaveUp: Error[] = [];
    const engine = await supervise({
      name: 'idle',
      start: startIdle,
      restartDelaysMs: [20],
      maxRestarts: 2,
      onGiveUp: (error) => gaveUp.push(error),
    });
    for (let death = 1; death <= 3; death++) {
      const pid = engine.status().pid ?? 0;
      process.kill(pid, 'SIGKILL');
      if (death < 3) {
        await until(`restart ${death}`, () => engine.status().restarts === death);
      }
    }
    await until('it gives up', () => engine.status().state === 'failed');
    expect(gaveUp.map((e) => e.message)).toEqual([
      'idle stopped 3 times within 10 minutes; not restarting it again',
    ]);
    await expect(engine.whenUp()).rejects.toThrow('idle is failed');
    expect(engine.current()).toBeUndefined();
  });

  test('a restart that cannot start counts as a death; stopping cancels the restart to come', async () => {
    let attempts = 0;
    const engine = await supervise({
      name: 'flaky',
      start: async () => {
        attempts += 1;
        if (attempts > 1) throw new Error('port 1 is already in use');
        return startIdle();
      },
      restartDelaysMs: [20, 5_000],
    });
    process.kill(engine.status().pid ?? 0, 'SIGKILL');
    await until('the failed restart is reported', () => engine.status().error !== undefined);
    expect(engine.status()).toMatchObject({
      state: 'restarting',
      error: 'could not start again: port 1 is already in use',
    });
    await engine.stop();
    expect(engine.status().state).toBe('stopped');
    await sleep(100);
    expect(attempts).toBe(2);
  });
});
