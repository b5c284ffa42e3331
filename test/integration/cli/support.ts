/**
 * A local target for the CLI built from real engines started in the test: DynamoDB Local (the
 * suite's), the local Secrets Manager, the Tallyfy sandbox, and local mode's own admin HTTP
 * server running the real token refresher handler. A `local.json` in local mode's schema points
 * the CLI at them, exactly as `npm start` would.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { inject } from 'vitest';
import { runCli } from '../../../bin/cli.ts';
import type { CliIo, Prompts } from '../../../bin/io.ts';
import { createTokenRefresherHandler } from '../../../functions/token-refresher/handler.ts';
import { startLocalHttpServer } from '../../../local/runtime/http-server.ts';
import { type LocalState, writeLocalState } from '../../../local/runtime/state-file.ts';
import { startLocalSecretsManager } from '../../../local/secrets-manager/index.ts';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { createLogger } from '../../../shared/observability/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
  type OrgRegistry,
} from '../../../shared/orgs/index.ts';
import { closeSharedDispatchers, tallyfyOAuth } from '../../../shared/tallyfy/index.ts';
import {
  createTallyfyGrants,
  createTokenStore,
  DEFAULT_REFRESH_POLICY,
  type TokenStore,
} from '../../../shared/tokens/index.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliHarness {
  sandbox: StartedSandbox;
  registry: OrgRegistry;
  store: TokenStore;
  dataDir: string;
  webhookBaseUrl: string;
  /** Runs the CLI in-process against the harness; `stdin` is piped text (not a terminal). */
  run(
    argv: readonly string[],
    options?: { stdin?: string; prompts?: Prompts; tty?: boolean },
  ): Promise<CliRun>;
  /** Every stdout and stderr the harness captured, for the no-secret-printed check. */
  transcript(): string;
  close(): Promise<void>;
}

const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Prompts that fail the test if a command asks anything it should not. */
export const noPrompts: Prompts = {
  text: async (message) => {
    throw new Error(`unexpected prompt: ${message}`);
  },
  password: async (message) => {
    throw new Error(`unexpected prompt: ${message}`);
  },
  confirm: async (message) => {
    throw new Error(`unexpected prompt: ${message}`);
  },
};

export async function startCliHarness(label: string): Promise<CliHarness> {
  const dynamo = createOrgsDynamoClients({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: LOCAL,
  });
  const tableName = `cli-${label}-${randomUUID().slice(0, 8)}`;
  await createOrgsTable(dynamo.client, tableName);
  const registry = createOrgRegistry({ client: dynamo.document, tableName, clock: Date.now });
  const secretsManager = await startLocalSecretsManager();
  const secretsClient = new SecretsManagerClient({
    endpoint: secretsManager.endpoint,
    region: 'us-east-1',
    credentials: LOCAL,
  });
  const prefix = `tallyfy-serverless/${tableName}`;
  const store = createTokenStore({ client: secretsClient, prefix });
  const sandbox = await startSandbox();

  const logger = createLogger({ serviceName: 'token-refresher', level: 'SILENT' });
  const refresher = createTokenRefresherHandler({
    registry,
    secrets: store,
    grants: createTallyfyGrants(tallyfyOAuth({ baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl })),
    policy: DEFAULT_REFRESH_POLICY,
    clock: Date.now,
    random: Math.random,
    logger,
    concurrency: 4,
  });
  const http = await startLocalHttpServer({ port: 0, clock: Date.now, onError: () => undefined });
  http.serve({
    receiver: async () => ({ statusCode: 404, body: '' }),
    invoke: (name, event) => {
      if (name !== 'token-refresher') throw new Error(`no local function ${name}`);
      return refresher(event);
    },
    functionNames: () => ['token-refresher'],
    health: () => ({ status: 'ok' }),
  });

  const dataDir = await mkdtemp(join(tmpdir(), `cli-${label}-`));
  const webhookBaseUrl = `${http.origin}/hooks`;
  const state: LocalState = {
    version: 1,
    running: true,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dataDir,
    region: 'us-east-1',
    urls: {
      http: http.origin,
      health: `${http.origin}/health`,
      invoke: `${http.origin}/_local/invoke`,
      tallyfy: sandbox.url,
      tallyfyToken: sandbox.tokenUrl,
      sandbox: sandbox.origin,
    },
    endpoints: {
      dynamodb: inject('dynamoEndpoint'),
      secretsManager: secretsManager.endpoint,
      sqs: null,
      eventBridge: null,
    },
    outputs: {
      WebhookBaseUrl: webhookBaseUrl,
      OrgsTableName: tableName,
      SecretPrefix: prefix,
      EventsQueueUrl: null,
      DeadLetterQueueUrl: null,
      EventBusName: 'local',
      ArchiveDirectory: join(dataDir, 'archive'),
      ReportsDirectory: join(dataDir, 'reports'),
      TokenRefresherFunctionName: 'token-refresher',
      ReconcilerFunctionName: null,
      ReporterFunctionName: null,
    },
    functions: ['token-refresher'],
  };
  await writeLocalState(join(dataDir, 'local.json'), state);

  const captured: string[] = [];
  return {
    sandbox,
    registry,
    store,
    dataDir,
    webhookBaseUrl,
    async run(argv, options = {}) {
      const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
      const stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
      const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
      if (options.tty === true) {
        stdin.isTTY = true;
        stderr.isTTY = true;
      }
      const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
      stdout.on('data', (chunk: Buffer) => chunks.out.push(chunk));
      stderr.on('data', (chunk: Buffer) => chunks.err.push(chunk));
      stdin.end(options.stdin ?? '');
      const io: CliIo = {
        stdin,
        stdout,
        stderr,
        env: { LOG_LEVEL: 'SILENT' },
        cwd: dataDir,
        prompts: options.prompts ?? noPrompts,
      };
      const code = await runCli(['--data-dir', dataDir, ...argv], io);
      const result = {
        code,
        stdout: Buffer.concat(chunks.out).toString('utf8'),
        stderr: Buffer.concat(chunks.err).toString('utf8'),
      };
      captured.push(result.stdout, result.stderr);
      return result;
    },
    transcript: () => captured.join('\n'),
    async close() {
      await http.close(0);
      await sandbox.close();
      secretsClient.destroy();
      await secretsManager.close();
      dynamo.client.destroy();
      await closeSharedDispatchers();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The secrets piped to `orgs add` for the sandbox's demo org with a given user. */
export function passwordSecrets(sandbox: StartedSandbox, user: 'admin' | 'standard' = 'admin') {
  return JSON.stringify({
    clientSecret: sandbox.demo.passwordClient.clientSecret,
    password: sandbox.demo[user].password,
  });
}
