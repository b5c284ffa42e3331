/**
 * Console bench: how long the console's pages take to render in a real browser at scale.
 * 1,000 orgs in the registry (DynamoDB Local; mixed states, tokens expiring over two days) and
 * 10,000 dead letters in the DLQ (the local SQS engine, in memory). The console runs as the
 * `console` command runs it (`startConsoleServer` over the CLI's local target), and headless
 * Chromium (Debian's, through playwright-core) loads each page: the figure is the median of
 * the navigations' wall time from `goto` to the `load` event (server render, transfer, parse,
 * layout and paint of the inline SVG charts), after one warm-up.
 *
 * The dead-letters page serves its pages from a snapshot of the DLQ (SQS can neither page nor
 * filter); the sweep that takes the snapshot is measured on its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startConsoleServer } from '../bin/console/index.ts';
import { openLocalTarget } from '../bin/target/index.ts';
import { startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { type LocalState, writeLocalState } from '../local/runtime/state-file.ts';
import { startLocalSqs } from '../local/sqs/index.ts';
import { deadLetterAttributes } from '../shared/dlq/index.ts';
import {
  createEnvelope,
  envelopeMessageAttributes,
  serializeEnvelope,
} from '../shared/events/index.ts';
import { createLogger } from '../shared/observability/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
} from '../shared/orgs/index.ts';
import { launchChromium } from '../test/browser/support.ts';
import { type BenchResult, percentile } from './types.ts';

export const isolate = true;

const ORGS = 1_000;
const LETTERS = 10_000;
const RUNS = 7;
const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };

async function inLanes<T>(items: readonly T[], lanes: number, task: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
}

export async function run(): Promise<BenchResult[]> {
  const ddb = await startDynamoDbLocal();
  const sqs = await startLocalSqs({ queues: [{ name: 'events-dlq' }, { name: 'events' }] });
  const dataDir = await mkdtemp(join(tmpdir(), 'console-bench-'));
  const dynamo = createOrgsDynamoClients({
    endpoint: ddb.endpoint,
    region: 'us-east-1',
    credentials: LOCAL,
  });
  const sqsClient = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: LOCAL,
  });
  try {
    const tableName = 'console-bench';
    await createOrgsTable(dynamo.client, tableName);
    const registry = createOrgRegistry({ client: dynamo.document, tableName, clock: Date.now });

    // ---- 1,000 orgs: most healthy, some failing, needing re-authorisation or disabled
    const now = Date.now();
    const ids = Array.from({ length: ORGS }, (_, i) => `orgbench${String(i).padStart(5, '0')}`);
    await inLanes(ids, 16, async (orgId) => {
      const i = Number(orgId.slice(-5));
      await registry.createOrg({
        orgId,
        name: `Bench org ${i}`,
        authMode: i % 7 === 0 ? 'client_credentials' : 'password',
        credentialsSecretId: `bench/orgs/${orgId}/credentials`,
        tokenSecretId: `bench/orgs/${orgId}/token`,
        webhookSecretHash: '0'.repeat(64),
      });
      const lease = await registry.acquireLease(orgId, { owner: 'bench', durationMs: 60_000 });
      if (lease === null) throw new Error(`no lease on ${orgId}`);
      if (i % 50 === 7) {
        await registry.recordRefreshFailure(orgId, {
          fence: lease.fence,
          error: {
            code: i % 100 === 7 ? 'invalid_grant' : 'server_error',
            message: 'bench failure',
          },
          needsReauth: i % 100 === 7,
          retryAt: new Date(now + 300_000).toISOString(),
        });
      } else {
        const expiresAt = new Date(now + ((i * 173) % 2880) * 60_000).toISOString();
        await registry.recordRefreshSuccess(orgId, {
          fence: lease.fence,
          tokenExpiresAt: expiresAt,
          refreshDueAt: expiresAt,
          obtainedAt: new Date(now).toISOString(),
        });
      }
      if (i % 97 === 3) await registry.setStatus(orgId, 'disabled');
    });

    // ---- 10,000 dead letters over 40 orgs and four failure codes
    const deadLetterQueueUrl = sqs.queueUrl('events-dlq');
    const codes = [
      'ACTION_VALIDATION_FAILED',
      'ACTION_NOT_FOUND',
      'ORG_NEEDS_REAUTH',
      'ACTION_HTTP_410',
    ];
    const batches = Array.from({ length: LETTERS / 10 }, (_, b) => b);
    await inLanes(batches, 16, async (b) => {
      await sqsClient.send(
        new SendMessageBatchCommand({
          QueueUrl: deadLetterQueueUrl,
          Entries: Array.from({ length: 10 }, (_, k) => {
            const n = b * 10 + k;
            const envelope = createEnvelope({
              orgId: ids[n % 40] as string,
              type: 'task.completed',
              subjectId: `t${n}`,
              occurredAt: now - n * 1000,
              receivedAtMs: now - n * 1000 + 500,
              origin: 'webhook',
              data: { this_task: { id: `t${n}`, title: 'Approve purchase order' } },
            });
            return {
              Id: String(k),
              MessageBody: serializeEnvelope(envelope),
              MessageAttributes: {
                ...envelopeMessageAttributes(envelope),
                ...deadLetterAttributes({
                  code: codes[n % codes.length] as string,
                  reason: `Bench failure ${n}: Tallyfy refused the input (422).`,
                  failedAtMs: now - n * 1000 + 900,
                }),
              },
            };
          }),
        }),
      );
    });

    // ---- the console over the CLI's local target
    const stateFile = join(dataDir, 'local.json');
    const state: LocalState = {
      version: 1,
      running: true,
      pid: process.pid,
      startedAt: new Date(now).toISOString(),
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
        dynamodb: ddb.endpoint,
        secretsManager: 'http://127.0.0.1:9',
        sqs: sqs.endpoint,
        eventBridge: null,
      },
      outputs: {
        WebhookBaseUrl: 'http://127.0.0.1:9/hooks',
        OrgsTableName: tableName,
        SecretPrefix: 'bench',
        EventsQueueUrl: sqs.queueUrl('events'),
        DeadLetterQueueUrl: deadLetterQueueUrl,
        EventBusName: 'bench',
        ArchiveDirectory: join(dataDir, 'archive'),
        ReportsDirectory: join(dataDir, 'reports'),
        TokenRefresherFunctionName: null,
        ReconcilerFunctionName: null,
        ReporterFunctionName: null,
      },
      functions: [],
    };
    await writeLocalState(stateFile, state);
    const target = await openLocalTarget(stateFile, {});
    const server = await startConsoleServer({
      target,
      port: 0,
      log: createLogger({ serviceName: 'console', level: 'SILENT' }),
    });
    const browser = await launchChromium();
    try {
      const page = await browser.page();
      const load = async (path: string): Promise<number> => {
        const t0 = performance.now();
        // the sweep of 10,000 letters takes tens of seconds: more than goto's default 30 s
        const answer = await page.goto(`${server.url}${path}`, {
          waitUntil: 'load',
          timeout: 600_000,
        });
        const ms = performance.now() - t0;
        if (answer?.status() !== 200) throw new Error(`${path} answered ${answer?.status()}`);
        return ms;
      };
      const median = async (path: string, check: () => Promise<void>): Promise<number> => {
        await load(path);
        await check();
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) times.push(await load(path));
        return percentile(times, 50);
      };

      const orgsMs = await median('orgs', async () => {
        const points = Number(
          await page.locator('figure[data-chart="token-expiries"]').getAttribute('data-points'),
        );
        const rows = await page.locator('table[data-table="orgs"] tbody tr').count();
        if (points < ORGS * 0.95 || rows !== 50)
          throw new Error(`orgs page shows ${points} points, ${rows} rows`);
      });

      const sweepStart = performance.now();
      await load('dead-letters?fresh=1');
      const sweepMs = performance.now() - sweepStart;
      const lettersMs = await median('dead-letters', async () => {
        const total = Number(await page.locator('[data-dlq-total]').getAttribute('data-dlq-total'));
        const rows = await page.locator('table[data-table="dead-letters"] tbody tr').count();
        if (total !== LETTERS || rows !== 50)
          throw new Error(`dead letters page shows ${total} letters, ${rows} rows`);
      });
      const filteredMs = await median(
        `dead-letters?org=${ids[3]}&code=ACTION_HTTP_410&page=2`,
        async () => {
          const matching = Number(
            await page.locator('[data-matching]').getAttribute('data-matching'),
          );
          if (matching !== 250) throw new Error(`filter matched ${matching}, not 250`);
        },
      );
      if (browser.problems().length > 0) throw new Error(browser.problems().join('\n'));
      return [
        {
          name: 'console: orgs page, 1,000 orgs',
          value: Math.round(orgsMs),
          unit: 'ms',
          target: 1000,
          better: 'lower',
          note: `median of ${RUNS} loads in headless Chromium, goto to load event: registry read of every org, 1,000-point expiry timeline, 50 rows`,
        },
        {
          name: 'console: dead letters page, 10,000 letters',
          value: Math.round(lettersMs),
          unit: 'ms',
          target: 1000,
          better: 'lower',
          note: `median of ${RUNS} loads, from the DLQ snapshot (50 rows of 10,000, newest first); a filtered page 2: ${Math.round(filteredMs)} ms`,
        },
        {
          name: 'console: dead-letter sweep, 10,000 letters',
          value: Math.round(sweepMs),
          unit: 'ms',
          better: 'lower',
          note: 'one page load that sweeps the whole DLQ (1,000 ReceiveMessage calls to the in-memory local SQS, then hands every letter back); the console reuses a sweep for 30 s',
        },
      ];
    } finally {
      await browser.close();
      await server.close();
      target.close();
    }
  } finally {
    sqsClient.destroy();
    dynamo.client.destroy();
    await sqs.close();
    await ddb.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
