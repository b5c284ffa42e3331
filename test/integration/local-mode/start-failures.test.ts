/**
 * What a new user sees when `npm start` cannot run: one line on stderr saying what to do, exit
 * code 1, and nothing left running.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { acquireDataDirLock } from '../../../local/runtime/data-dir-lock.ts';
import { writeLocalState } from '../../../local/runtime/state-file.ts';
import { npmStart, tempDataDir } from './support.ts';

let blocker: Server | undefined;

afterEach(async () => {
  await new Promise<void>((done) => (blocker ? blocker.close(() => done()) : done()));
  blocker = undefined;
});

/** stderr without Node's own warnings (none are expected, but they are not ours to test). */
const ourLines = (stderr: string) =>
  stderr.split('\n').filter((line) => line !== '' && !line.startsWith('(node:'));

describe('npm start cannot start', () => {
  test('a port already in use gives a one-line explanation and exit code 1', async () => {
    blocker = createServer();
    const port = await new Promise<number>((done) => {
      blocker?.listen(0, '127.0.0.1', () => {
        const address = blocker?.address();
        done(typeof address === 'object' && address ? address.port : 0);
      });
    });
    const run = npmStart({ PORT: String(port), DATA_DIR: tempDataDir('port') });
    expect(await run.exited).toBe(1);
    const lines = ourLines(run.stderr());
    expect(lines).toEqual([
      `npm start: Port ${port} is already in use: stop the program using it, or start on another port (PORT=${port + 1} npm start).`,
    ]);
    expect(run.stdout()).not.toContain('Ctrl-C stops');
  });

  test('Java missing gives a one-line explanation of what to install and exit code 1', async () => {
    // a PATH with no java on it (node itself is started by absolute path)
    const emptyBin = mkdtempSync(join(tmpdir(), 'tallyfy-no-java-'));
    const run = npmStart({ PORT: '0', DATA_DIR: tempDataDir('java'), PATH: emptyBin });
    expect(await run.exited).toBe(1);
    const lines = ourLines(run.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^npm start: java was not found\. DynamoDB Local needs Java 17/);
    expect(lines[0]).toContain('openjdk-17-jre-headless');
  });

  test('a second local mode on the same data directory is refused while the first runs', async () => {
    const dataDir = tempDataDir('twice');
    mkdirSync(dataDir, { recursive: true });
    // what a running local mode holds: the lock (this test runner is certainly alive) and
    // local.json with its URL
    const lock = await acquireDataDirLock(dataDir, { clock: Date.now });
    await writeLocalState(join(dataDir, 'local.json'), {
      version: 1,
      running: true,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      dataDir,
      region: 'us-east-1',
      urls: {
        http: 'http://127.0.0.1:3999',
        health: 'http://127.0.0.1:3999/health',
        invoke: 'http://127.0.0.1:3999/_local/invoke',
        tallyfy: 'http://127.0.0.1:4010/api',
        sandbox: 'http://127.0.0.1:4010',
      },
      endpoints: {
        dynamodb: 'http://127.0.0.1:1',
        secretsManager: 'http://127.0.0.1:1',
        sqs: null,
        eventBridge: null,
      },
      outputs: {
        WebhookBaseUrl: 'http://127.0.0.1:3999/hooks',
        OrgsTableName: 'tallyfy-orgs',
        SecretPrefix: 'tallyfy-serverless/local',
        EventsQueueUrl: null,
        DeadLetterQueueUrl: null,
        EventBusName: 'tallyfy-local',
        ArchiveDirectory: join(dataDir, 'archive'),
        ReportsDirectory: join(dataDir, 'reports'),
        TokenRefresherFunctionName: null,
        ReconcilerFunctionName: null,
        ReporterFunctionName: null,
      },
      functions: [],
    });
    try {
      const run = npmStart({ PORT: '0', DATA_DIR: dataDir });
      expect(await run.exited).toBe(1);
      expect(ourLines(run.stderr())).toEqual([
        `npm start: Local mode is already running on ${dataDir} (pid ${process.pid}, http://127.0.0.1:3999): stop it first, or start with another DATA_DIR.`,
      ]);
      // the refused start took nothing: the lock is still ours
      expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toEqual(lock.holder);
    } finally {
      await lock.release();
    }
  });

  test('an invalid variable is named in one line before anything starts', async () => {
    const run = npmStart({ PORT: 'eighty', DATA_DIR: tempDataDir('config') });
    expect(await run.exited).toBe(1);
    expect(ourLines(run.stderr())).toEqual([
      'npm start: Invalid configuration: PORT="eighty" is not an integer from 0 to 65535 (0 = any free port).',
    ]);
  });
});
