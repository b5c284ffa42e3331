import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LocalState, LocalStateSchema } from '../../../local/runtime/state-file.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** A fresh, empty DATA_DIR under the system temp directory. */
export function tempDataDir(label: string): string {
  return join(mkdtempSync(join(tmpdir(), `tallyfy-local-${label}-`)), 'data');
}

/** `npm start` as a child process: `node --import tsx local/main.ts`, as package.json runs it. */
export interface NpmStart {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Sends the signal (Ctrl-C by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function npmStart(
  env: Record<string, string>,
  options: { throughNpm?: boolean } = {},
): NpmStart {
  const child = options.throughNpm
    ? // the real thing: npm runs the script through a shell, which runs node
      spawn('npm', ['start', '--silent'], {
        cwd: REPO_ROOT,
        env: childEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
        cwd: REPO_ROOT,
        env: childEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | string>((done) => {
    child.on('exit', (code, signal) => done(code ?? signal ?? 'unknown'));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  // a test run under npm must not make the child think npm started it
  for (const key of Object.keys(base)) if (key.startsWith('npm_')) delete base[key];
  return { ...base, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env };
}

/** Waits until the banner is out (local mode is ready), or fails with what the process said. */
export async function untilReady(run: NpmStart, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void run.exited.then(() => {
    gone = true;
  });
  while (!run.stdout().includes('Ctrl-C stops')) {
    if (gone || Date.now() > deadline) {
      await run.stop('SIGKILL');
      throw new Error(
        `local mode did not become ready:\n--- stdout\n${run.stdout()}\n--- stderr\n${run.stderr()}`,
      );
    }
    await sleep(50);
  }
}

/** Polls `probe` until it returns a value other than `undefined` (the child works meanwhile). */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export function readState(dataDir: string): LocalState {
  return LocalStateSchema.parse(JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8')));
}

/** The value after `label` on a banner line (`  webhook URL     http://…`). */
export function bannerValue(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith(label));
  if (!line) throw new Error(`no "${label}" line in:\n${stdout}`);
  return line.trimStart().slice(label.length).trim();
}

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
