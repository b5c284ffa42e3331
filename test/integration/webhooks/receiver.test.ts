import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createWebhookReceiverHandler } from '../../../functions/webhook-receiver/handler.ts';
import {
  ArchiveError,
  createEnvelope,
  createFileArchive,
  createS3Archive,
  createSqsEventQueue,
  MessageTooLargeError,
  parseEnvelope,
  QueueSendError,
} from '../../../shared/events/index.ts';
import { createLogger, memorySink } from '../../../shared/observability/index.ts';
import {
  createOrgRegistry,
  createOrgsDynamoClients,
  createOrgsTable,
} from '../../../shared/orgs/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { cachedWebhookAuthLookup, hashWebhookSecret } from '../../../shared/webhooks/index.ts';
import { fixtureText, NOW_MS, ORG_ID, SECRET_TEXT } from '../../unit/webhooks/support.ts';
import { type FakeAws, startFakeAws } from './aws-fakes.ts';

const local = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};
const TABLE = `orgs-webhooks-${process.pid}`;
const QUEUE_URL = 'http://127.0.0.1/000000000000/events';
const BUCKET = 'archive-bucket';

let aws: FakeAws;
let sqs: SQSClient;
let s3: S3Client;

beforeAll(async () => {
  aws = await startFakeAws();
  sqs = new SQSClient({ ...local, endpoint: aws.endpoint, maxAttempts: 1 });
  s3 = new S3Client({ ...local, endpoint: aws.endpoint, forcePathStyle: true, maxAttempts: 1 });
});

afterAll(async () => {
  sqs?.destroy();
  s3?.destroy();
  await aws?.close();
});

const envelope = (subjectId: string, data: unknown = { this_task: { id: subjectId } }) =>
  createEnvelope({
    orgId: ORG_ID,
    type: 'task.completed',
    subjectId,
    occurredAt: '2026-11-19T10:42:13Z',
    receivedAtMs: NOW_MS,
    origin: 'webhook',
    data,
  });

describe('SQS event queue (real SDK client, SQS JSON protocol on loopback)', () => {
  test('sends the envelope as the body with orgId and type attributes', async () => {
    const queue = createSqsEventQueue({ client: sqs, queueUrl: QUEUE_URL });
    const before = aws.sqsMessages.length;
    await queue.send(envelope('t-send'));
    const [message] = aws.sqsMessages.slice(before);
    expect(parseEnvelope(message?.body ?? '')).toEqual(envelope('t-send'));
    expect(message?.attributes).toEqual({ orgId: ORG_ID, type: 'task.completed' });
  });

  test('a failed send rejects with QueueSendError carrying the cause', async () => {
    const queue = createSqsEventQueue({ client: sqs, queueUrl: QUEUE_URL });
    aws.failSqs(1);
    const error = await queue.send(envelope('t-fail')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueSendError);
    expect((error as QueueSendError).failedIds).toEqual([envelope('t-fail').id]);
    expect((error as QueueSendError).cause).toBeDefined();
  });

  test('an envelope over the limit is refused before any call', async () => {
    const queue = createSqsEventQueue({ client: sqs, queueUrl: QUEUE_URL, maxMessageBytes: 512 });
    const before = aws.sqsMessages.length;
    await expect(queue.send(envelope('t-big', { pad: 'x'.repeat(600) }))).rejects.toThrow(
      MessageTooLargeError,
    );
    expect(aws.sqsMessages.length).toBe(before);
  });

  test('a batch of 23 goes in chunks of 10 and reports exactly the entries SQS refused', async () => {
    const queue = createSqsEventQueue({ client: sqs, queueUrl: QUEUE_URL });
    const envelopes = Array.from({ length: 23 }, (_, i) => envelope(`t-batch-${i}`));
    const before = aws.sqsMessages.length;
    await queue.sendBatch?.(envelopes);
    expect(aws.sqsMessages.length - before).toBe(23);
    aws.failBatchEntries(['3']);
    const error = await queue.sendBatch?.(envelopes.slice(0, 5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueSendError);
    expect((error as QueueSendError).failedIds).toEqual([envelopes[3]?.id]);
  });
});

describe('SQS event queue with group commit', () => {
  test('a lone send is a SendMessage; sends made together share SendMessageBatch calls', async () => {
    const queue = createSqsEventQueue({
      client: sqs,
      queueUrl: QUEUE_URL,
      groupCommit: { maxInFlight: 1 },
    });
    const calls = aws.sqsCalls.length;
    const messages = aws.sqsMessages.length;
    await queue.send(envelope('t-lone'));
    expect(aws.sqsCalls.slice(calls)).toEqual(['SendMessage']);

    const envelopes = Array.from({ length: 12 }, (_, i) => envelope(`t-group-${i}`));
    await Promise.all(envelopes.map((e) => queue.send(e)));
    // the first goes at once; the 11 that waited behind it go as 10 + 1
    expect(aws.sqsCalls.slice(calls + 1)).toEqual([
      'SendMessage',
      'SendMessageBatch',
      'SendMessage',
    ]);
    const bodies = aws.sqsMessages.slice(messages + 1).map((m) => parseEnvelope(m.body).id);
    expect(bodies).toEqual(envelopes.map((e) => e.id));
  });

  test('an entry SQS refuses fails its own send only, with QueueSendError', async () => {
    const queue = createSqsEventQueue({
      client: sqs,
      queueUrl: QUEUE_URL,
      groupCommit: { maxInFlight: 1 },
    });
    const envelopes = Array.from({ length: 4 }, (_, i) => envelope(`t-refused-${i}`));
    // entry "1" of the batch is the third send (the first went alone)
    aws.failBatchEntries(['1']);
    const outcomes = await Promise.all(
      envelopes.map((e) =>
        queue.send(e).then(
          () => 'stored',
          (error: unknown) => error,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(3);
    const [refused] = outcomes.filter((o) => o !== 'stored');
    expect(refused).toBeInstanceOf(QueueSendError);
    expect((refused as QueueSendError).failedIds).toEqual([envelopes[2]?.id]);
  });

  test('an envelope over the limit is refused alone, before any call', async () => {
    const queue = createSqsEventQueue({
      client: sqs,
      queueUrl: QUEUE_URL,
      maxMessageBytes: 1024,
      groupCommit: { maxInFlight: 1 },
    });
    const calls = aws.sqsCalls.length;
    const [small, big] = await Promise.allSettled([
      queue.send(envelope('t-small')),
      queue.send(envelope('t-too-big', { pad: 'x'.repeat(2_000) })),
    ]);
    expect(small.status).toBe('fulfilled');
    expect(big.status === 'rejected' && big.reason).toBeInstanceOf(MessageTooLargeError);
    expect(aws.sqsCalls.slice(calls)).toEqual(['SendMessage']);
  });
});

describe('raw archives', () => {
  test('S3: stores the bytes with JSON content type and metadata, reads them back', async () => {
    const archive = createS3Archive({ client: s3, bucket: BUCKET });
    const body = Buffer.from(fixtureText('task-completed.json'));
    const meta = { orgId: ORG_ID, eventId: 'e1', type: 'task.completed', receivedAt: 'now' };
    await archive.put('webhooks/org/2026/11/22/a.json', body, meta);
    const stored = aws.s3Objects.get(`${BUCKET}/webhooks/org/2026/11/22/a.json`);
    expect(stored?.body.equals(body)).toBe(true);
    expect(stored?.headers['content-type']).toBe('application/json');
    expect(stored?.headers['x-amz-meta-org-id']).toBe(ORG_ID);
    expect(
      Buffer.from((await archive.get('webhooks/org/2026/11/22/a.json')) ?? []).equals(body),
    ).toBe(true);
    expect(await archive.get('webhooks/missing.json')).toBeUndefined();
  });

  test('files: stores body and meta under the base dir and refuses keys that leave it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'archive-'));
    try {
      const archive = createFileArchive({ baseDir: dir });
      const meta = { orgId: ORG_ID, eventId: 'e1', type: 'unknown', receivedAt: 'now' };
      await archive.put('webhooks/o/1.json', Buffer.from('{"a":1}'), meta);
      expect(await readFile(join(dir, 'webhooks/o/1.json'), 'utf8')).toBe('{"a":1}');
      expect(JSON.parse(await readFile(join(dir, 'webhooks/o/1.json.meta.json'), 'utf8'))).toEqual(
        meta,
      );
      expect(Buffer.from((await archive.get('webhooks/o/1.json')) ?? []).toString()).toBe(
        '{"a":1}',
      );
      expect(await archive.get('webhooks/o/2.json')).toBeUndefined();
      await expect(archive.put('../escape.json', Buffer.from('{}'), meta)).rejects.toThrow(
        ArchiveError,
      );
      await expect(archive.get('/etc/passwd')).rejects.toThrow(ArchiveError);

      // puts made together, then a directory removed behind the archive's back: made again
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          archive.put(`webhooks/o/many-${i}.json`, Buffer.from(`{"i":${i}}`), meta),
        ),
      );
      expect(await readFile(join(dir, 'webhooks/o/many-19.json'), 'utf8')).toBe('{"i":19}');
      await rm(join(dir, 'webhooks/o'), { recursive: true });
      await archive.put('webhooks/o/3.json', Buffer.from('{"b":2}'), meta);
      expect(await readFile(join(dir, 'webhooks/o/3.json'), 'utf8')).toBe('{"b":2}');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the receiver wired as in Lambda (DynamoDB Local org item, SQS and S3 over loopback)', () => {
  const clients = createOrgsDynamoClients({ ...local, endpoint: inject('dynamoEndpoint') });
  const registry = createOrgRegistry({
    client: clients.document,
    tableName: TABLE,
    clock: () => NOW_MS,
  });

  beforeAll(async () => {
    await createOrgsTable(clients.client, TABLE);
    await registry.createOrg({
      orgId: ORG_ID,
      name: 'Webhook test org',
      authMode: 'client_credentials',
      credentialsSecretId: `tallyfy/orgs/${ORG_ID}/credentials`,
      tokenSecretId: `tallyfy/orgs/${ORG_ID}/token`,
      webhookSecretHash: hashWebhookSecret(new Secret(SECRET_TEXT)),
    });
  });

  function handler() {
    const captured = memorySink();
    const clock = () => NOW_MS;
    const logger = createLogger({
      serviceName: 'webhook-receiver',
      level: 'DEBUG',
      sink: captured.sink,
    });
    const auth = cachedWebhookAuthLookup(registry, { clock });
    const handle = createWebhookReceiverHandler({
      auth,
      queue: createSqsEventQueue({ client: sqs, queueUrl: QUEUE_URL }),
      archive: createS3Archive({ client: s3, bucket: BUCKET }),
      clock,
      logger,
    });
    return { handle, captured };
  }

  const event = (body: string, secret = SECRET_TEXT): APIGatewayProxyEventV2 => ({
    version: '2.0',
    routeKey: 'POST /hooks/{orgId}/{secret}',
    rawPath: `/hooks/${ORG_ID}/${secret}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'x-tallyfy-orgid': ORG_ID },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: {
        method: 'POST',
        path: `/hooks/${ORG_ID}/${secret}`,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: 'Tallyfy',
      },
      requestId: 'req-1',
      routeKey: 'POST /hooks/{orgId}/{secret}',
      stage: '$default',
      time: '22/Nov/2026:09:30:00 +0000',
      timeEpoch: NOW_MS,
    },
    pathParameters: { orgId: ORG_ID, secret },
    body,
    isBase64Encoded: false,
  });

  test('a fixture is archived in S3, queued in SQS and answered 202', async () => {
    const { handle } = handler();
    const sqsBefore = aws.sqsMessages.length;
    const result = await handle(event(fixtureText('watcher-task-completed.json')));
    expect(result.statusCode).toBe(202);
    const [message] = aws.sqsMessages.slice(sqsBefore);
    const queued = parseEnvelope(message?.body ?? '');
    expect(queued.id).toBe(
      'task.completed:t7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d:2026-11-19T10:42:13.000Z',
    );
    const archived = [...aws.s3Objects.keys()].filter((k) =>
      k.startsWith(`${BUCKET}/webhooks/${ORG_ID}/`),
    );
    expect(archived.length).toBeGreaterThan(0);
  });

  test('a wrong secret is 401 and an SQS outage is 503, neither leaving a queued message', async () => {
    const { handle, captured } = handler();
    const sqsBefore = aws.sqsMessages.length;
    expect((await handle(event('{}', 'wrong-secret-wrong-secret'))).statusCode).toBe(401);
    aws.failSqs(1);
    const outage = await handle(event(fixtureText('task-completed.json')));
    expect(outage.statusCode).toBe(503);
    expect(JSON.parse(outage.body ?? '')).toEqual({
      error: { code: 'WEBHOOKS_UNAVAILABLE', message: expect.any(String) },
    });
    expect(aws.sqsMessages.length).toBe(sqsBefore);
    for (const line of captured.lines) expect(line).not.toContain(SECRET_TEXT);
  });
});
