/**
 * `dlq list|replay` with filters, paced and recorded replays, and the `console` command, against
 * real local engines (DynamoDB Local, the local SQS) named by a local.json as `npm start` writes
 * it. The CLI runs in-process for `dlq` (no Tallyfy call is involved) and as a child process
 * for `console`, which runs until it is signalled.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { runCli } from '../../../bin/cli.ts';
import type { CliIo } from '../../../bin/io.ts';
import { type LocalState, writeLocalState } from '../../../local/runtime/state-file.ts';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';
import { type DeadLetter, deadLetterAttributes } from '../../../shared/dlq/index.ts';
import {
  createEnvelope,
  envelopeMessageAttributes,
  serializeEnvelope,
} from '../../../shared/events/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
  type OrgRegistry,
} from '../../../shared/orgs/index.ts';
import { noPrompts } from './support.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const A = 'orgaaaaaaaaaaaa';
const B = 'orgbbbbbbbbbbbb';
const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };
let sqs: LocalSqs;
let client: SQSClient;
let dataDir: string;
let registry: OrgRegistry;
let dynamo: ReturnType<typeof createOrgsDynamoClients>;

async function cli(
  argv: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough();
  const err = new PassThrough();
  out.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  err.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIo = {
    stdin,
    stdout: out,
    stderr: err,
    // a fast pace, so the test does not wait on the default 100 a minute
    env: { TALLYFY_REQUESTS_PER_MINUTE: '6000' },
    cwd: REPO_ROOT,
    prompts: noPrompts,
  };
  const code = await runCli(['--data-dir', dataDir, ...argv], io);
  return { code, stdout, stderr };
}

async function deadLetter(orgId: string, task: string, code: string, failedAt: string) {
  const envelope = createEnvelope({
    orgId,
    type: task.startsWith('p') ? 'process.launched' : 'task.completed',
    subjectId: task,
    occurredAt: '2026-11-20T09:00:00Z',
    receivedAtMs: Date.parse('2026-11-20T09:00:01Z'),
    origin: 'webhook',
    data: { id: task },
  });
  await client.send(
    new SendMessageCommand({
      QueueUrl: sqs.queueUrl('events-dlq'),
      MessageBody: serializeEnvelope(envelope),
      MessageAttributes: {
        ...envelopeMessageAttributes(envelope),
        ...deadLetterAttributes({
          code,
          reason: `failed ${task}`,
          failedAtMs: Date.parse(failedAt),
        }),
      },
    }),
  );
}

beforeAll(async () => {
  sqs = await startLocalSqs({ queues: [{ name: 'events-dlq' }, { name: 'events' }] });
  client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials: LOCAL });
  dynamo = createOrgsDynamoClients({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: LOCAL,
  });
  const tableName = `cli-dlq-${randomUUID().slice(0, 8)}`;
  await createOrgsTable(dynamo.client, tableName);
  registry = createOrgRegistry({ client: dynamo.document, tableName, clock: Date.now });
  dataDir = await mkdtemp(join(tmpdir(), 'cli-dlq-'));
  const state: LocalState = {
    version: 1,
    running: true,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dataDir,
    region: 'us-east-1',
    urls: {
      http: 'http://127.0.0.1:9',
      health: 'http://127.0.0.1:9/health',
      invoke: 'http://127.0.0.1:9/_local/invoke',
      tallyfy: 'http://127.0.0.1:9/api',
      sandbox: null,
    },
    endpoints: {
      dynamodb: inject('dynamoEndpoint'),
      secretsManager: 'http://127.0.0.1:9',
      sqs: sqs.endpoint,
      eventBridge: null,
    },
    outputs: {
      WebhookBaseUrl: 'http://127.0.0.1:9/hooks',
      OrgsTableName: tableName,
      SecretPrefix: 'test',
      EventsQueueUrl: sqs.queueUrl('events'),
      DeadLetterQueueUrl: sqs.queueUrl('events-dlq'),
      EventBusName: 'test',
      ArchiveDirectory: join(dataDir, 'archive'),
      ReportsDirectory: join(dataDir, 'reports'),
      TokenRefresherFunctionName: null,
      ReconcilerFunctionName: null,
      ReporterFunctionName: null,
    },
    functions: [],
  };
  await writeLocalState(join(dataDir, 'local.json'), state);
  await deadLetter(A, 't1', 'ACTION_NOT_FOUND', '2026-11-20T10:00:00Z');
  await deadLetter(A, 't2', 'ACTION_NOT_FOUND', '2026-11-20T12:00:00Z');
  await deadLetter(A, 'p3', 'ORG_NEEDS_REAUTH', '2026-11-20T12:00:00Z');
  await deadLetter(B, 't4', 'ACTION_NOT_FOUND', '2026-11-20T12:00:00Z');
});

afterAll(async () => {
  client?.destroy();
  dynamo?.client.destroy();
  await sqs?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('dlq with filters', () => {
  test('list shows only the letters every filter means', async () => {
    const run = await cli([
      'dlq',
      'list',
      '--org',
      A,
      '--code',
      'ACTION_NOT_FOUND',
      '--since',
      '2026-11-20T11:00:00+00:00',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const letters = (JSON.parse(run.stdout) as { deadLetters: DeadLetter[] }).deadLetters;
    expect(letters.map((l) => l.eventId?.split(':')[1])).toEqual(['t2']);

    const types = await cli(['dlq', 'list', '--type', 'process.launched', '--json']);
    expect((JSON.parse(types.stdout) as { deadLetters: DeadLetter[] }).deadLetters).toHaveLength(1);
  });

  test('a bad filter is a usage error naming the option', async () => {
    const since = await cli(['dlq', 'list', '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toMatch(/--since:/);
    const type = await cli(['dlq', 'replay', '--type', 'task.done']);
    expect(type.code).toBe(2);
    expect(type.stderr).toMatch(/--type:/);
    const backwards = await cli([
      'dlq',
      'list',
      '--since',
      '2026-11-21T00:00:00Z',
      '--until',
      '2026-11-20T00:00:00Z',
    ]);
    expect(backwards.stderr).toMatch(/--until: since must be before until/);
    const nothing = await cli(['dlq', 'replay']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/ids, a filter .* or --all/);
  });

  test('replay with a filter replays those letters only, paced, and records who did it', async () => {
    const run = await cli([
      'dlq',
      'replay',
      '--org',
      A,
      '--code',
      'ACTION_NOT_FOUND',
      '--yes',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { replayed: unknown[] }).replayed).toHaveLength(2);
    expect(run.stderr).toBe('');
    const left = await cli(['dlq', 'list', '--json']);
    expect(
      (JSON.parse(left.stdout) as { deadLetters: DeadLetter[] }).deadLetters
        .map((l) => l.eventId?.split(':')[1])
        .sort(),
    ).toEqual(['p3', 't4']);
    const [record] = (await registry.listReplays()).replays;
    expect(record).toMatchObject({
      via: 'cli',
      filter: { orgId: A, code: 'ACTION_NOT_FOUND' },
      requested: 2,
      replayed: 2,
      ratePerMinute: 6000,
      status: 'finished',
    });
    expect(record?.by).toMatch(/.+@.+/);
  });
});

describe('console command', () => {
  test('serves the console on 127.0.0.1 at the printed link until signalled', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/tallyfy-serverless.ts', '--data-dir', dataDir, 'console', '--json'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const printed = await new Promise<{ url: string; target: string }>((done, fail) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        try {
          done(JSON.parse(stdout) as { url: string; target: string });
        } catch {
          // the document is not complete yet
        }
      });
      child.on('exit', (code) => fail(new Error(`console exited ${code}: ${stderr}`)));
    });
    expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/[A-Za-z0-9_-]{43}\/$/);
    expect(printed.target).toMatch(/^local mode/);
    const page = await fetch(`${printed.url}dead-letters`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-dlq-total="2"');
    const bare = await fetch(new URL('/console/', printed.url));
    expect(bare.status).toBe(403);

    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // the link (with its token) was printed once, and never logged
    const token = new URL(printed.url).pathname.split('/')[2] as string;
    expect(stderr.includes(token)).toBe(false);
  });

  test('a bad port is a usage error', async () => {
    const run = await cli(['console', '--port', 'eighty']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--port must be a whole number from 0 to 65535/);
  });
});
