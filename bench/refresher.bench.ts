/**
 * Refresher scale bench: 10,000 registered orgs of which 1,000 are due, the sandbox answering
 * every grant after 50 ms. One scheduled run (`refreshDueOrgs`, production defaults: 8 lanes,
 * 250 ms start jitter) over DynamoDB Local, the local Secrets Manager and the sandbox, all real
 * sockets. Reports the wall time against the ideal (due ÷ concurrency × latency), the DynamoDB
 * items read (must grow with the orgs due, not the orgs registered) and the secret writes per
 * refreshed org. See docs/tokens.md.
 *
 * The sandbox and the Secrets Manager endpoint run in a child process (this file with
 * `--refresher-engines`), as Tallyfy and AWS run elsewhere: in one process their request
 * handling would share the refresher's event loop and the bench would measure that instead.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { startLocalSecretsManager } from '../local/secrets-manager/index.ts';
import { type DemoIds, startSandbox } from '../local/tallyfy-sandbox/index.ts';
import { createLogger } from '../shared/observability/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
  ORGS_TABLE_SCHEMA,
  refreshShardOf,
} from '../shared/orgs/index.ts';
import { Secret } from '../shared/secret.ts';
import { passwordGrant, tallyfyOAuth } from '../shared/tallyfy/index.ts';
import {
  createTallyfyGrants,
  createTokenStore,
  DEFAULT_REFRESH_POLICY,
  refreshDueOrgs,
} from '../shared/tokens/index.ts';
import type { BenchResult } from './types.ts';

const REGISTERED = 10_000;
const DUE = 1_000;
const LATENCY_MS = 50;
const CONCURRENCY = 8;
const PREFIX = 'tallyfy-serverless/bench';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

const ENGINES_FLAG = '--refresher-engines';

interface Engines {
  secretsEndpoint: string;
  sandboxUrl: string;
  sandboxTokenUrl: string;
  sandboxOrigin: string;
  demo: DemoIds;
}

if (process.argv.includes(ENGINES_FLAG)) await hostEngines();

/** Child side: the sandbox (every answer 50 ms late) and the Secrets Manager endpoint. */
async function hostEngines(): Promise<void> {
  const sm = await startLocalSecretsManager();
  const sandbox = await startSandbox({ latencyMs: LATENCY_MS });
  const engines: Engines = {
    secretsEndpoint: sm.endpoint,
    sandboxUrl: sandbox.url,
    sandboxTokenUrl: sandbox.tokenUrl,
    sandboxOrigin: sandbox.origin,
    demo: sandbox.demo,
  };
  process.stdout.write(`${JSON.stringify(engines)}\n`);
  // runs until the parent closes stdin
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await sandbox.close();
  await sm.close();
  process.exit(0);
}

async function startEngines(): Promise<{ engines: Engines; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), ENGINES_FLAG],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench engines exited (${code}) at start`)));
  });
  return {
    engines: JSON.parse(first) as Engines,
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

async function sandboxGrants(origin: string): Promise<Record<string, number>> {
  const res = await fetch(`${origin}/_sandbox/stats`);
  return ((await res.json()) as { grants: Record<string, number> }).grants;
}

export async function run(): Promise<BenchResult[]> {
  const ddb = await startDynamoDbLocal();
  const { engines, stop } = await startEngines();
  const clients = createOrgsDynamoClients({
    endpoint: ddb.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const smClient = new SecretsManagerClient({
    endpoint: engines.secretsEndpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const tableName = `bench-refresher-${randomUUID().slice(0, 8)}`;
    await createOrgsTable(clients.client, tableName);
    const registry = createOrgRegistry({ client: clients.document, tableName, clock: Date.now });
    const store = createTokenStore({ client: smClient, prefix: PREFIX });
    const now = Date.now();

    // ---- seed: 10,000 org items by BatchWrite; secrets and live refresh tokens for the due ones
    const orgIds = Array.from(
      { length: REGISTERED },
      (_, i) => `orgbench${String(i).padStart(5, '0')}`,
    );
    const dueIds = new Set(orgIds.filter((_, i) => i % (REGISTERED / DUE) === 0));
    const items = orgIds.map((orgId) => orgItem(orgId, dueIds.has(orgId), now, registry.shards));
    const batches: (typeof items)[] = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    await pool(batches, 16, (batch) => batchWrite(clients.document, tableName, batch));

    const { demo } = engines;
    const clientSecret = new Secret(demo.passwordClient.clientSecret);
    const password = new Secret(demo.admin.password);
    await pool([...dueIds], 32, async (orgId) => {
      const set = await passwordGrant(
        {
          clientId: demo.passwordClient.clientId,
          clientSecret,
          username: demo.admin.email,
          password,
        },
        { baseUrl: engines.sandboxUrl, tokenUrl: engines.sandboxTokenUrl },
      );
      await store.createOrgSecrets(orgId, {
        authMode: 'password',
        orgId,
        clientId: demo.passwordClient.clientId,
        clientSecret,
        username: demo.admin.email,
        password,
        refreshToken: set.refreshToken,
      });
    });

    // ---- measure: one scheduled run with every grant 50 ms away, at the default concurrency;
    // then the same orgs due again, at half of it (where a CPU-starved host stops mattering)
    const deps = {
      registry,
      secrets: store,
      grants: createTallyfyGrants(
        tallyfyOAuth({ baseUrl: engines.sandboxUrl, tokenUrl: engines.sandboxTokenUrl }),
      ),
      policy: DEFAULT_REFRESH_POLICY,
      clock: Date.now,
      random: Math.random,
      logger: createLogger({ serviceName: 'token-refresher', level: 'SILENT' }),
      owner: 'bench',
    };
    const measure = async (concurrency: number) => {
      const counted = countReads(clients.client);
      const writesCounted = countSecretWrites(smClient);
      const grantsBefore = (await sandboxGrants(engines.sandboxOrigin)).refresh_token ?? 0;
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const summary = await refreshDueOrgs(deps, { concurrency });
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const reads = counted.stop();
      const writes = writesCounted.stop();
      const refreshed = summary.outcomes.refreshed;
      const grants =
        ((await sandboxGrants(engines.sandboxOrigin)).refresh_token ?? 0) - grantsBefore;
      if (summary.due !== DUE || refreshed !== DUE || grants !== DUE) {
        throw new Error(
          `refresher bench: expected ${DUE} due and refreshed with ${DUE} grants, got due ${summary.due}, refreshed ${refreshed}, grants ${grants}, outcomes ${JSON.stringify(summary.outcomes)}`,
        );
      }
      const idealMs = (DUE / concurrency) * LATENCY_MS;
      return {
        concurrency,
        wallMs,
        idealMs,
        cpuMsPerOrg: (cpu.user + cpu.system) / 1000 / DUE,
        load: loadavg()[0] ?? 0,
        reads,
        writes,
        refreshed,
      };
    };
    const wallResult = (m: Awaited<ReturnType<typeof measure>>): BenchResult => ({
      name: `refresher scale: wall time (10k orgs, 1k due, ${LATENCY_MS} ms grants, c=${m.concurrency})`,
      value: Math.round(m.wallMs),
      unit: 'ms',
      baseline: m.idealMs,
      ratio: Math.round((m.wallMs / m.idealMs) * 100) / 100,
      target: 1.5,
      better: 'lower',
      note: `ratio = wall ÷ (due ÷ concurrency × latency) = wall ÷ ${m.idealMs} ms; per org: lease, credentials read, grant, 2 secret writes, fenced org write; refresher process CPU ${m.cpuMsPerOrg.toFixed(1)} ms/org; 1-min load average ${m.load.toFixed(1)} on ${availableParallelism()} CPUs shared with DynamoDB Local's JVM and the engines`,
    });
    const main = await measure(CONCURRENCY);
    await pool([...dueIds], 16, (orgId) =>
      registry.scheduleRefresh(orgId, new Date(Date.now() - 1000).toISOString()),
    );
    const half = await measure(CONCURRENCY / 2);
    const { reads, writes, refreshed } = main;
    return [
      wallResult(main),
      wallResult(half),
      {
        name: 'refresher scale: DynamoDB items read (10k registered, 1k due)',
        value: reads.itemsRead,
        unit: 'items',
        baseline: REGISTERED,
        ratio: Math.round((reads.itemsRead / REGISTERED) * 1000) / 1000,
        target: DUE,
        targetOf: 'value',
        better: 'lower',
        note: `items read by Query/GetItem (the byRefreshDue index, ${registry.shards} shards): O(due); baseline = what a scan of the registered orgs would read; plus ${(reads.writes / DUE).toFixed(1)} conditional UpdateItems per refreshed org (lease, fenced result)`,
      },
      {
        name: 'refresher scale: secret writes per refreshed org',
        value: Math.round((writes / refreshed) * 100) / 100,
        unit: 'writes/org',
        target: 2,
        targetOf: 'value',
        better: 'lower',
        note: 'PutSecretValue calls ÷ orgs refreshed (password mode: credentials with the rotated refresh token, then the token)',
      },
    ];
  } finally {
    smClient.destroy();
    clients.document.destroy();
    clients.client.destroy();
    await stop();
    await ddb.stop();
  }
}

/** An org item as `createOrg` stores it (docs/data-model.md), due a minute ago or in a day. */
function orgItem(orgId: string, due: boolean, now: number, shards: number) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    pk: `ORG#${orgId}`,
    sk: 'META',
    kind: ORGS_TABLE_SCHEMA.orgKind,
    orgId,
    name: `Bench ${orgId}`,
    authMode: 'password',
    credentialsSecretId: `${PREFIX}/orgs/${orgId}/credentials`,
    tokenSecretId: `${PREFIX}/orgs/${orgId}/token`,
    webhookSecretHash: '0'.repeat(64),
    status: 'active',
    tokenExpiresAt: iso(due ? now + 600_000 : now + 2 * 86_400_000),
    refreshDueAt: iso(due ? now - 60_000 : now + 86_400_000),
    refreshShard: refreshShardOf(orgId, shards),
    consecutiveFailures: 0,
    leaseFence: 0,
    version: 1,
    createdAt: iso(now),
    updatedAt: iso(now),
    settings: {},
  };
}

async function batchWrite(
  document: ReturnType<typeof createOrgsDynamoClients>['document'],
  tableName: string,
  items: Record<string, unknown>[],
): Promise<void> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 8) throw new Error(`${pending.length} seed items still unprocessed`);
    const out = await document.send(
      new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
    );
    pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
  }
}

/** Counts items read (Query ScannedCount, GetItem hits) and conditional updates on a client. */
function countReads(client: ReturnType<typeof createOrgsDynamoClients>['client']) {
  let itemsRead = 0;
  let writes = 0;
  const name = `count-${randomUUID()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const out = result.output as { ScannedCount?: number; Item?: unknown };
      if (context.commandName === 'QueryCommand') itemsRead += out.ScannedCount ?? 0;
      if (context.commandName === 'GetItemCommand' && out.Item) itemsRead += 1;
      if (context.commandName === 'UpdateItemCommand') writes += 1;
      return result;
    },
    { step: 'initialize', name },
  );
  return {
    stop() {
      client.middlewareStack.remove(name);
      return { itemsRead, writes };
    },
  };
}

/** Counts PutSecretValue calls sent by a client (retries of one call count once). */
function countSecretWrites(client: SecretsManagerClient) {
  let writes = 0;
  const name = `count-${randomUUID()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutSecretValueCommand') writes += 1;
      return next(args);
    },
    { step: 'initialize', name },
  );
  return {
    stop() {
      client.middlewareStack.remove(name);
      return writes;
    },
  };
}

async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await task(item);
      }
    }),
  );
}
