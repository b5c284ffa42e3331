/**
 * One composition per function (STYLE.md habit 19): each Lambda entry and local mode build a
 * function's dependencies through the same `functions/<name>/wiring.ts`, so they cannot drift.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { wireEventWorker } from '../../../functions/event-worker/wiring.ts';
import { buildFunctions } from '../../../local/runtime/functions.ts';
import { startLocalSecretsManager } from '../../../local/secrets-manager/index.ts';
import { startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { loadConfig, SECTION_NAMES } from '../../../shared/config.ts';
import { memoryRawArchive } from '../../../shared/events/index.ts';
import { SERVICE_NAMES } from '../../../shared/observability/index.ts';
import { createOrgsDynamoClients } from '../../../shared/orgs/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { TallyfyError } from '../../../shared/tallyfy/index.ts';
import { createTokenStore } from '../../../shared/tokens/index.ts';

const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };
const NOWHERE = 'http://127.0.0.1:9';

/** What the stack sets on its functions (infra/constructs/function.ts), with dead endpoints. */
const STACK_ENV = {
  AWS_REGION: 'eu-west-1',
  ORGS_TABLE: 'tallyfy-orgs',
  SECRET_PREFIX: 'tallyfy-serverless/test',
  EVENTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events',
  EVENTS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events-dlq',
  EVENT_BUS_NAME: 'tallyfy-events',
  ARCHIVE_BUCKET: 'tallyfy-archive',
  REPORTS_BUCKET: 'tallyfy-reports',
  REFRESH_REQUESTS: 'tallyfy-token-refresher',
  LOG_LEVEL: 'SILENT',
};

/** A dependency object's shape: each member's kind, nested one level for option objects. */
function shapeOf(deps: object): Record<string, string> {
  const shape: Record<string, string> = {};
  for (const [key, value] of Object.entries(deps)) {
    shape[key] = typeof value;
    if (value !== null && typeof value === 'object' && value.constructor === Object) {
      for (const [inner, innerValue] of Object.entries(value)) {
        shape[`${key}.${inner}`] = typeof innerValue;
      }
    }
  }
  return shape;
}

describe('one wiring per function', () => {
  test('local mode and each Lambda entry build the same dependency set through the same wiring', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, STACK_ENV);
    const entries = new Map<string, object>();
    try {
      for (const service of Object.values(SERVICE_NAMES)) {
        const entry = (await import(`../../../functions/${service}/index.ts`)) as {
          deps: object;
          handler: unknown;
        };
        expect(typeof entry.handler, service).toBe('function');
        entries.set(service, entry.deps);
      }
    } finally {
      process.env = saved;
    }

    const config = loadConfig(SECTION_NAMES, {
      ...STACK_ENV,
      REFRESH_REQUESTS: 'local',
      DYNAMODB_ENDPOINT: NOWHERE,
    });
    const dynamo = createOrgsDynamoClients({
      endpoint: NOWHERE,
      region: 'eu-west-1',
      credentials: LOCAL,
    });
    const client = { endpoint: NOWHERE, region: 'eu-west-1', credentials: LOCAL };
    const local = buildFunctions({
      config,
      clients: {
        dynamo: dynamo.document,
        secretsManager: new SecretsManagerClient(client),
        sqs: new SQSClient(client),
        eventBridge: new EventBridgeClient(client),
      },
      dataDir: join(tmpdir(), 'tallyfy-wiring-test'),
      telemetry: { logSink: () => undefined },
    });

    for (const service of Object.values(SERVICE_NAMES)) {
      const lambdaDeps = entries.get(service);
      expect(lambdaDeps, service).toBeDefined();
      expect(shapeOf(local.deps[service]), service).toEqual(shapeOf(lambdaDeps ?? {}));
    }
  });

  test('a Lambda entry builds AWS clients only (and maps its stack traces): every dependency comes from its wiring', () => {
    for (const service of Object.values(SERVICE_NAMES)) {
      const source = readFileSync(
        new URL(`../../../functions/${service}/index.ts`, import.meta.url),
        'utf8',
      );
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      const ours = imports.filter((path) => path?.startsWith('.'));
      expect(ours.sort(), service).toEqual(
        [
          '../../shared/config.ts',
          '../../shared/config/aws-clients.ts',
          '../../shared/observability/index.ts',
          '../../shared/orgs/index.ts',
          './handler.ts',
          './wiring.ts',
        ].sort(),
      );
      // the bundle's own source map, read when a stack is printed (docs/operations.md)
      expect(source, service).toMatch(/^mapBundleStackTraces\(import\.meta\.url\);$/m);
      expect(source, service).toMatch(/export const deps = wire[A-Za-z]+\(config, \{/);
    }
  });
});

describe('the event worker asks for a refresh as every other function does', () => {
  const invocations: { type: string | undefined; payload: unknown }[] = [];
  const lambdaServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    invocations.push({
      type: req.headers['x-amz-invocation-type'] as string | undefined,
      payload: JSON.parse(Buffer.concat(chunks).toString('utf8')),
    });
    res.writeHead(202, { 'content-type': 'application/json' }).end();
  });
  let close: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    await new Promise<void>((resolve) => lambdaServer.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await close();
    await new Promise<void>((resolve) => lambdaServer.close(() => resolve()));
  });

  test('a 401 a re-read cannot cure sends one asynchronous (Event) invoke of the refresher', async () => {
    const sm = await startLocalSecretsManager();
    const sandbox = await startSandbox();
    const secretsManager = new SecretsManagerClient({ ...clientAt(sm.endpoint) });
    const lambda = new LambdaClient({
      ...clientAt(`http://127.0.0.1:${(lambdaServer.address() as AddressInfo).port}`),
      maxAttempts: 1,
    });
    close = async () => {
      secretsManager.destroy();
      lambda.destroy();
      await sandbox.close();
      await sm.close();
    };
    const orgId = sandbox.demo.orgId;
    const config = loadConfig(SECTION_NAMES, {
      ...STACK_ENV,
      TALLYFY_BASE_URL: sandbox.url,
      TALLYFY_TOKEN_URL: sandbox.tokenUrl,
      HTTP_MAX_RETRIES: '0',
    });
    // a token secret holding a token the sandbox never issued: Tallyfy answers 401
    const store = createTokenStore({ client: secretsManager, prefix: config.secrets.prefix });
    await store.createOrgSecrets(orgId, {
      authMode: 'personal_access_token',
      orgId,
      token: new Secret('not-a-token-the-sandbox-issued'),
    });
    const obtainedAt = new Date().toISOString();
    await store.writeToken(
      orgId,
      {
        accessToken: new Secret('not-a-token-the-sandbox-issued'),
        tokenType: 'Bearer',
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        obtainedAt,
        authMode: 'personal_access_token',
        orgId,
      },
      { clientRequestToken: '00000000-0000-4000-8000-000000000001' },
    );
    const dynamo = createOrgsDynamoClients({
      endpoint: NOWHERE,
      region: 'eu-west-1',
      credentials: LOCAL,
    });
    const deps = wireEventWorker(
      config,
      {
        dynamo: dynamo.document,
        secretsManager,
        sqs: new SQSClient(clientAt(NOWHERE)),
        eventBridge: new EventBridgeClient(clientAt(NOWHERE)),
        lambda,
      },
      { archive: memoryRawArchive(), telemetry: { logSink: () => undefined } },
    );

    const call = deps.tallyfy(orgId).me();

    await expect(call).rejects.toBeInstanceOf(TallyfyError);
    // with the proof of which token was rejected (its obtainedAt, never its value)
    expect(invocations).toEqual([
      {
        type: 'Event',
        payload: {
          orgId,
          force: true,
          reason: 'unauthorized',
          rejectedTokenObtainedAt: obtainedAt,
        },
      },
    ]);
  });
});

function clientAt(endpoint: string) {
  return { endpoint, region: 'eu-west-1', credentials: LOCAL };
}
