import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { inject } from 'vitest';
import { startLocalSecretsManager } from '../../../local/secrets-manager/index.ts';
import {
  type GeneratedDataset,
  type SeedSpec,
  type StartedSandbox,
  startSandbox,
} from '../../../local/tallyfy-sandbox/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
  type OrgRegistry,
} from '../../../shared/orgs/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { createTokenStore } from '../../../shared/tokens/index.ts';

export const SECRET_PREFIX = 'tallyfy-serverless/reports-test';

/** A sandbox serving a generated data set, with an org registry and token secrets for its orgs. */
export interface ReportWorld {
  sandbox: StartedSandbox;
  dataset: GeneratedDataset;
  registry: OrgRegistry;
  tableName: string;
  dynamoEndpoint: string;
  secretsEndpoint: string;
  secretsClient: SecretsManagerClient;
  clients: ReturnType<typeof createOrgsDynamoClients>;
  /** Calls `action` once, right after the `n`-th answered request whose path matches. */
  afterRequests(path: RegExp, n: number, action: () => void): void;
  close(): Promise<void>;
}

/**
 * Starts the sandbox seeded with `spec` (clock fixed at `nowMs`), DynamoDB Local's orgs table
 * with every seeded org registered `active` (its time zone from the seed) plus `extraOrgs`,
 * and a local Secrets Manager holding each seeded org's access token (a personal access token
 * of the org admin, valid until `tokenExpiresAt`).
 */
export async function startReportWorld(options: {
  spec: SeedSpec;
  nowMs: number;
  tokenExpiresAt: string;
  extraOrgs?: { orgId: string; status: 'disabled' | 'needs_reauth' }[];
}): Promise<ReportWorld> {
  const watchers: { path: RegExp; n: number; seen: number; action: () => void }[] = [];
  const sandbox = await startSandbox({
    seed: options.spec,
    clock: () => options.nowMs,
    log: (line) => {
      const [, path, status] = line.split(' ');
      if (path === undefined || status === undefined || !/^\d+$/.test(status)) return;
      for (const w of watchers) {
        if (w.path.test(path) && ++w.seen === w.n) w.action();
      }
    },
  });
  const dataset = sandbox.dataset as GeneratedDataset;
  const sm = await startLocalSecretsManager();
  const secretsClient = new SecretsManagerClient({
    endpoint: sm.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tokens = createTokenStore({ client: secretsClient, prefix: SECRET_PREFIX });
  const dynamoEndpoint = inject('dynamoEndpoint');
  const clients = createOrgsDynamoClients({
    endpoint: dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tableName = `reports-${randomUUID().slice(0, 8)}`;
  await createOrgsTable(clients.client, tableName);
  const registry = createOrgRegistry({ client: clients.document, tableName, clock: Date.now });
  const register = (orgId: string, name: string, timezone?: string) =>
    registry.createOrg({
      orgId,
      name,
      authMode: 'personal_access_token',
      credentialsSecretId: `${SECRET_PREFIX}/orgs/${orgId}/credentials`,
      tokenSecretId: `${SECRET_PREFIX}/orgs/${orgId}/token`,
      webhookSecretHash: 'a'.repeat(64),
      ...(timezone === undefined ? {} : { timezone }),
    });
  for (const { org, admin } of dataset.orgs) {
    await register(org.id, org.name, org.timezone);
    const pat = sandbox.issuePersonalAccessToken(admin.id);
    await tokens.writeToken(
      org.id,
      {
        accessToken: new Secret(pat),
        tokenType: 'Bearer',
        expiresAt: options.tokenExpiresAt,
        obtainedAt: new Date(options.nowMs).toISOString(),
        authMode: 'personal_access_token',
        orgId: org.id,
      },
      { clientRequestToken: randomUUID() },
    );
  }
  for (const extra of options.extraOrgs ?? []) {
    await register(extra.orgId, `Org ${extra.orgId}`);
    await registry.setStatus(extra.orgId, extra.status);
  }
  return {
    sandbox,
    dataset,
    registry,
    tableName,
    dynamoEndpoint,
    secretsEndpoint: sm.endpoint,
    secretsClient,
    clients,
    afterRequests(path, n, action) {
      watchers.push({ path, n, seen: 0, action });
    },
    async close() {
      secretsClient.destroy();
      clients.client.destroy();
      await sm.close();
      await sandbox.close();
    },
  };
}

/** One event claim the worker would have written (origin, when first seen, failed or not). */
export interface ClaimSpec {
  orgId: string;
  origin: 'webhook' | 'reconciler' | 'replay';
  firstSeenAt: string;
  /** Marked `failed` (dead-lettered) at this time. */
  failedAt?: string;
}

/** Writes event claims through the registry, each at its own time (the registry's clock). */
export async function writeClaims(
  world: Pick<ReportWorld, 'clients' | 'tableName'>,
  claims: readonly ClaimSpec[],
): Promise<void> {
  let now = 0;
  const registry = createOrgRegistry({
    client: world.clients.document,
    tableName: world.tableName,
    clock: () => now,
  });
  for (const claim of claims) {
    const key = `test:${randomUUID()}`;
    now = Date.parse(claim.firstSeenAt);
    await registry.claimEvent(key, {
      orgId: claim.orgId,
      origin: claim.origin,
      ttlSeconds: 366 * 86_400,
    });
    if (claim.failedAt !== undefined) {
      now = Date.parse(claim.failedAt);
      await registry.markEvent(key, 'failed');
    }
  }
}

/** What an S3 PutObject carried. */
export interface PutObject {
  bucket: string;
  key: string;
  contentType: string | undefined;
  body: string;
}

/**
 * A tiny S3 endpoint on loopback that accepts path-style `PUT /<bucket>/<key>` (PutObject)
 * and keeps what it got: the real S3 client's request path, without a local S3 engine.
 */
export async function startPutObjectServer(): Promise<{
  endpoint: string;
  objects: Map<string, PutObject>;
  close(): Promise<void>;
}> {
  const objects = new Map<string, PutObject>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const [, bucket = '', ...rest] = url.pathname.split('/');
      if (req.method !== 'PUT' || rest.length === 0) {
        res
          .writeHead(405, { 'content-type': 'application/xml' })
          .end('<Error><Code>MethodNotAllowed</Code></Error>');
        return;
      }
      const key = rest.map(decodeURIComponent).join('/');
      let body = Buffer.concat(chunks).toString('utf8');
      if (String(req.headers['content-encoding'] ?? '').includes('aws-chunked'))
        body = unchunk(body);
      objects.set(`${bucket}/${key}`, {
        bucket,
        key,
        contentType: req.headers['content-type'],
        body,
      });
      res.writeHead(200, { etag: `"${randomUUID()}"` }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Decodes an `aws-chunked` body (`<hex size>[;ext]\r\n<data>\r\n … 0\r\n<trailers>`). */
function unchunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, lineEnd).split(';')[0] ?? '0', 16);
    if (!(size > 0)) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}
