/**
 * The local SQS's data file through the real SDK client: an appended journal (a change costs a
 * line, not the backlog), reloaded after a restart, salvaged when damaged: a half-truncated
 * `sqs.json` of an earlier version or `sqs.jsonl` keeps every complete record.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, test } from 'vitest';
import { type EngineState, type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';
import { md5OfBody } from '../../../local/sqs/md5.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const REGION = 'us-east-1';
const DLQ_ARN = `arn:aws:sqs:${REGION}:000000000000:events-dlq`;
const QUEUES = [
  { name: 'events-dlq' },
  {
    name: 'events',
    attributes: {
      VisibilityTimeout: '30',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 2 }),
    },
  },
];

async function dataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'local-sqs-data-'));
}

async function withSqs<T>(
  options: Parameters<typeof startLocalSqs>[0],
  use: (sqs: LocalSqs, client: SQSClient) => Promise<T>,
): Promise<T> {
  const sqs = await startLocalSqs({ queues: QUEUES, ...options });
  const client = new SQSClient({
    endpoint: sqs.endpoint,
    region: REGION,
    credentials,
    maxAttempts: 1,
  });
  try {
    return await use(sqs, client);
  } finally {
    client.destroy();
    await sqs.close();
  }
}

/** The state an earlier version wrote: the whole thing as one JSON document. */
function legacyState(count: number): EngineState {
  const message = (i: number, extra: Record<string, unknown> = {}) => {
    const body = JSON.stringify({ event: i, padding: 'x'.repeat(200) });
    return {
      messageId: randomUUID(),
      body,
      md5OfBody: md5OfBody(body),
      messageAttributes: {},
      sentTimestamp: 1_700_000_000_000 + i,
      visibleAt: 1_700_000_000_000 + i,
      receiveCount: 0,
      ...extra,
    };
  };
  return {
    version: 1,
    queues: [
      {
        name: 'events-dlq',
        createdTimestamp: 1_700_000_000_000,
        lastModifiedTimestamp: 1_700_000_000_000,
        attributes: { VisibilityTimeout: '30' },
        messages: [
          message(-1, { deadLetterQueueSourceArn: 'arn:aws:sqs:us-east-1:000000000000:events' }),
        ],
      },
      {
        name: 'events',
        createdTimestamp: 1_700_000_000_000,
        lastModifiedTimestamp: 1_700_000_000_000,
        attributes: QUEUES[1]?.attributes ?? {},
        messages: Array.from({ length: count }, (_, i) => message(i)),
      },
    ],
  };
}

describe('local SQS data file', () => {
  test('a half-truncated sqs.json of an earlier version keeps every complete message', async () => {
    const dir = await dataDir();
    const legacyFile = join(dir, 'sqs.json');
    const state = legacyState(60);
    const text = `${JSON.stringify(state)}\n`;
    const cut = Math.floor(text.length / 2);
    writeFileSync(legacyFile, text.slice(0, cut));
    // what was complete before the cut: the DLQ's message and the events written whole
    const whole = state.queues.flatMap((q) =>
      q.messages.filter((m) => text.indexOf(JSON.stringify(m)) + JSON.stringify(m).length <= cut),
    );
    expect(whole.length).toBeGreaterThan(20);

    await withSqs(
      { dataFile: join(dir, 'sqs.jsonl'), importFrom: legacyFile, clock: () => 1_700_000_100_000 },
      async (sqs) => {
        const kept = sqs.snapshot().queues.flatMap((q) => q.messages.map((m) => m.messageId));
        expect(kept.sort()).toEqual(whole.map((m) => m.messageId).sort());
        expect(sqs.salvage).toHaveLength(1);
        expect(sqs.salvage[0]).toMatchObject({
          file: legacyFile,
          kept: whole.length,
          lost: 1,
          reason: expect.stringMatching(/^the file ends early \(byte \d+ of \d+\)$/),
        });
        // the dead letter stays a dead letter; the queue keeps its redrive policy
        const dlq = sqs.snapshot().queues.find((q) => q.name === 'events-dlq');
        expect(dlq?.messages).toHaveLength(1);
        const events = sqs.snapshot().queues.find((q) => q.name === 'events');
        expect(events?.attributes.RedrivePolicy).toContain('maxReceiveCount');
      },
    );
    // nothing deleted: the damaged original and the imported (salvaged) one are kept aside
    const names = readdirSync(dir).sort();
    expect(names.filter((n) => n.startsWith('sqs.json.damaged-'))).toHaveLength(1);
    expect(names.filter((n) => n.startsWith('sqs.json.imported-'))).toHaveLength(1);
    expect(existsSync(legacyFile)).toBe(false);
    const damaged = names.find((n) => n.startsWith('sqs.json.damaged-')) ?? '';
    expect(readFileSync(join(dir, damaged), 'utf8')).toBe(text.slice(0, cut));
  });

  test('a half-truncated sqs.jsonl keeps every complete record', async () => {
    const dir = await dataDir();
    const dataFile = join(dir, 'sqs.jsonl');
    await withSqs({ dataFile }, async (sqs, client) => {
      const queueUrl = sqs.queueUrl('events');
      for (let i = 0; i < 40; i++) {
        await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `m${i}` }));
      }
      // some received and deleted, some received and left in flight
      const out = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
      );
      for (const m of (out.Messages ?? []).slice(0, 5)) {
        await client.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
        );
      }
    });
    const text = readFileSync(dataFile, 'utf8');
    const cut = Math.floor(text.length / 2);
    writeFileSync(dataFile, text.slice(0, cut));
    // expected from the complete lines alone: sent before the cut, not deleted before it
    const complete = text.slice(0, cut).split('\n').slice(0, -1);
    const sent = complete.filter((l) => l.startsWith('{"put"')).map((l) => JSON.parse(l).put.m);
    const deleted = new Set(
      complete.filter((l) => l.startsWith('{"del"')).map((l) => JSON.parse(l).del.id),
    );
    const expected = sent.filter((m) => !deleted.has(m.messageId)).map((m) => m.body);
    expect(expected.length).toBeGreaterThan(5);

    await withSqs({ dataFile, clock: Date.now }, async (sqs) => {
      const bodies = sqs.snapshot().queues.flatMap((q) => q.messages.map((m) => m.body));
      expect(bodies).toEqual(expected);
      expect(sqs.salvage).toEqual([
        expect.objectContaining({
          file: dataFile,
          kept: complete.length - 1,
          lost: 1,
          reason: 'the last line is cut short (a write interrupted by a crash)',
        }),
      ]);
    });
  });

  test('receive counts survive restarts: a poison message still reaches the dead-letter queue', async () => {
    const dir = await dataDir();
    const dataFile = join(dir, 'sqs.jsonl');
    const receive = (sqs: LocalSqs, client: SQSClient) =>
      client.send(
        new ReceiveMessageCommand({
          QueueUrl: sqs.queueUrl('events'),
          VisibilityTimeout: 0,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
    await withSqs({ dataFile }, async (sqs, client) => {
      await client.send(
        new SendMessageCommand({ QueueUrl: sqs.queueUrl('events'), MessageBody: 'poison' }),
      );
      const first = await receive(sqs, client);
      expect(first.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
    });
    await withSqs({ dataFile }, async (sqs, client) => {
      const second = await receive(sqs, client);
      expect(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    });
    await withSqs({ dataFile }, async (sqs, client) => {
      // received twice (maxReceiveCount 2): the next receive moves it instead of handing it out
      expect((await receive(sqs, client)).Messages).toBeUndefined();
      const dlq = await client.send(
        new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl('events-dlq') }),
      );
      expect(dlq.Messages?.[0]?.Body).toBe('poison');
    });
  });

  test('a send appends one line whatever the backlog, and compaction drops what was deleted', async () => {
    const dir = await dataDir();
    const dataFile = join(dir, 'sqs.jsonl');
    await withSqs(
      { dataFile, compaction: { minBytes: 64 * 1024, ratio: 2 } },
      async (sqs, client) => {
        const queueUrl = sqs.queueUrl('events');
        const body = JSON.stringify({ padding: 'y'.repeat(300) });
        for (let i = 0; i < 100; i++) {
          await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        }
        const before = statSync(dataFile).size;
        await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        const growth = statSync(dataFile).size - before;
        // one put line: the body (escaped in JSON) and the message's fields, not 101 messages
        expect(growth).toBeGreaterThan(body.length);
        expect(growth).toBeLessThan(body.length * 2 + 400);

        for (;;) {
          const out = await client.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
          );
          if (!out.Messages?.length) break;
          for (const m of out.Messages) {
            await client.send(
              new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
            );
          }
        }
        expect(sqs.journalStats()?.compactions).toBeGreaterThan(0);
      },
    );
    // reopening compacts: two queue records and the header are all that is left
    await withSqs({ dataFile }, async (sqs) => {
      expect(sqs.snapshot().queues.every((q) => q.messages.length === 0)).toBe(true);
    });
    expect(readFileSync(dataFile, 'utf8').trim().split('\n')).toHaveLength(3);
  });
});
