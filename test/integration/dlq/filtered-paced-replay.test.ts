/**
 * `dlq replay` with filters, per-org pacing, held letters across a long replay, and the replay
 * record — against the local SQS engine (real SDK client) on a clock the test moves, and
 * DynamoDB Local for the records.
 */
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';
import {
  createReplayPacer,
  deadLetterAttributes,
  listDeadLetters,
  replayDeadLetters,
  runRecordedReplay,
} from '../../../shared/dlq/index.ts';
import {
  createEnvelope,
  envelopeMessageAttributes,
  parseEnvelope,
  serializeEnvelope,
} from '../../../shared/events/index.ts';
import { freshRegistry, testClock } from '../orgs/support.ts';

const A = 'orgaaaaaaaaaaaa';
const B = 'orgbbbbbbbbbbbb';
const clock = testClock('2026-11-20T12:00:00.000Z');
/** Virtual time shared by the SQS engine and the pacer: a sleeper wakes at its own deadline. */
const sleep = async (ms: number) => {
  clock.advance(ms);
};
let sqs: LocalSqs;
let client: SQSClient;
let queue = 0;

beforeAll(async () => {
  sqs = await startLocalSqs({ clock });
  client = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await sqs?.close();
});

/** A fresh pair of queues per test. */
async function queues() {
  queue += 1;
  const create = async (name: string) =>
    (await client.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
  return {
    eventsQueueUrl: await create(`events-${queue}`),
    deadLetterQueueUrl: await create(`dlq-${queue}`),
  };
}

async function deadLetter(
  deadLetterQueueUrl: string,
  orgId: string,
  task: string,
  code: string,
  failedAt: string,
) {
  const envelope = createEnvelope({
    orgId,
    type: 'task.completed',
    subjectId: task,
    occurredAt: '2026-11-20T09:00:00Z',
    receivedAtMs: Date.parse('2026-11-20T09:00:01Z'),
    origin: 'webhook',
    data: { this_task: { id: task } },
  });
  await client.send(
    new SendMessageCommand({
      QueueUrl: deadLetterQueueUrl,
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
  return envelope.id;
}

async function drain(queueUrl: string) {
  const bodies: { orgId: string; task: string; sentAt: number }[] = [];
  for (;;) {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['SentTimestamp'],
        VisibilityTimeout: 600,
      }),
    );
    if ((out.Messages ?? []).length === 0) return bodies;
    for (const message of out.Messages ?? []) {
      const envelope = parseEnvelope(message.Body ?? '');
      bodies.push({
        orgId: envelope.orgId,
        task: envelope.subject ?? '',
        sentAt: Number(message.Attributes?.SentTimestamp),
      });
      expect(envelope.origin).toBe('replay');
    }
  }
}

describe('filtered replay', () => {
  test('replays every letter the filter means (not only a page) and leaves the others', async () => {
    const { eventsQueueUrl, deadLetterQueueUrl } = await queues();
    for (let i = 0; i < 25; i++) {
      await deadLetter(deadLetterQueueUrl, A, `a${i}`, 'ACTION_NOT_FOUND', '2026-11-20T10:00:00Z');
    }
    await deadLetter(
      deadLetterQueueUrl,
      A,
      'a-other-code',
      'ORG_NEEDS_REAUTH',
      '2026-11-20T10:00:00Z',
    );
    await deadLetter(
      deadLetterQueueUrl,
      A,
      'a-too-old',
      'ACTION_NOT_FOUND',
      '2026-11-19T10:00:00Z',
    );
    await deadLetter(deadLetterQueueUrl, B, 'b1', 'ACTION_NOT_FOUND', '2026-11-20T10:00:00Z');
    const options = { client, deadLetterQueueUrl, waitTimeSeconds: 0 };
    const filter = { orgId: A, code: 'ACTION_NOT_FOUND', since: '2026-11-20T00:00:00.000Z' };

    expect(await listDeadLetters({ ...options, filter })).toHaveLength(25);
    const result = await replayDeadLetters({ ...options, eventsQueueUrl, ids: 'all', filter });

    expect(result.replayed).toHaveLength(25);
    expect((await drain(eventsQueueUrl)).map((m) => m.task).sort()).toEqual(
      Array.from({ length: 25 }, (_, i) => `a${i}`).sort(),
    );
    const left = await listDeadLetters(options);
    expect(left.map((l) => l.eventId?.split(':')[1]).sort()).toEqual([
      'a-other-code',
      'a-too-old',
      'b1',
    ]);
  });

  test('ids outside the filter are reported not found and stay', async () => {
    const { eventsQueueUrl, deadLetterQueueUrl } = await queues();
    const id = await deadLetter(
      deadLetterQueueUrl,
      B,
      'b1',
      'ACTION_NOT_FOUND',
      '2026-11-20T10:00:00Z',
    );
    const result = await replayDeadLetters({
      client,
      deadLetterQueueUrl,
      waitTimeSeconds: 0,
      eventsQueueUrl,
      ids: [id],
      filter: { orgId: A },
    });
    expect(result).toMatchObject({ replayed: [], notFound: [id] });
    expect(await listDeadLetters({ client, deadLetterQueueUrl, waitTimeSeconds: 0 })).toHaveLength(
      1,
    );
  });
});

describe('paced replay', () => {
  test('each org at its own pace: never faster than the rate, orgs side by side', async () => {
    const { eventsQueueUrl, deadLetterQueueUrl } = await queues();
    for (let i = 0; i < 4; i++) {
      await deadLetter(deadLetterQueueUrl, A, `a${i}`, 'X', '2026-11-20T10:00:00Z');
    }
    for (let i = 0; i < 2; i++) {
      await deadLetter(deadLetterQueueUrl, B, `b${i}`, 'X', '2026-11-20T10:00:00Z');
    }
    const start = clock();
    const result = await replayDeadLetters({
      client,
      deadLetterQueueUrl,
      waitTimeSeconds: 0,
      eventsQueueUrl,
      ids: 'all',
      pacer: createReplayPacer({ requestsPerMinute: 6, clock, sleep }),
      clock,
    });
    expect(result.replayed).toHaveLength(6);
    const sent = await drain(eventsQueueUrl);
    const offsets = (org: string) =>
      sent
        .filter((m) => m.orgId === org)
        .map((m) => m.sentAt - start)
        .sort((x, y) => x - y);
    // 6 a minute: one every 10 s per org; B's first did not wait for A's
    const a = offsets(A);
    expect(a).toHaveLength(4);
    for (let i = 1; i < a.length; i++)
      expect((a[i] as number) - (a[i - 1] as number)).toBeGreaterThanOrEqual(10_000);
    expect(offsets(B)[0]).toBeLessThan(10_000);
  });

  test('letters waiting their turn stay held past their visibility timeout: nobody else gets them', async () => {
    const { eventsQueueUrl, deadLetterQueueUrl } = await queues();
    for (let i = 0; i < 12; i++) {
      await deadLetter(deadLetterQueueUrl, A, `a${i}`, 'X', '2026-11-20T10:00:00Z');
    }
    const seenByOthers: number[] = [];
    const result = await replayDeadLetters({
      client,
      deadLetterQueueUrl,
      waitTimeSeconds: 0,
      visibilityTimeoutSeconds: 30,
      eventsQueueUrl,
      ids: 'all',
      // 6 a minute: the 12th goes 110 s after the first, far past the 30 s hold
      pacer: createReplayPacer({ requestsPerMinute: 6, clock, sleep }),
      clock,
      onProgress: async () => {
        const other = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: deadLetterQueueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 0,
          }),
        );
        seenByOthers.push((other.Messages ?? []).length);
      },
    });
    expect(result.replayed).toHaveLength(12);
    expect(seenByOthers).toEqual(Array.from({ length: 12 }, () => 0));
    expect(await drain(eventsQueueUrl)).toHaveLength(12);
  });
});

describe('recorded replay', () => {
  test('records who, how many and the outcome; a replay that fails is recorded failed', async () => {
    const { eventsQueueUrl, deadLetterQueueUrl } = await queues();
    const recordClock = testClock();
    const { registry } = await freshRegistry('dlq-records', { clock: recordClock });
    for (let i = 0; i < 3; i++) {
      await deadLetter(deadLetterQueueUrl, A, `a${i}`, 'X', '2026-11-20T10:00:00Z');
    }
    const { record } = await runRecordedReplay({
      client,
      deadLetterQueueUrl,
      waitTimeSeconds: 0,
      eventsQueueUrl,
      ids: 'all',
      filter: { orgId: A },
      records: registry,
      by: 'ops@laptop',
      via: 'cli',
      requested: 3,
      ratePerMinute: 100,
    });
    expect(record).toMatchObject({
      by: 'ops@laptop',
      via: 'cli',
      filter: { orgId: A },
      requested: 3,
      replayed: 3,
      status: 'finished',
    });

    // records sort by when they started: the second starts a minute later
    recordClock.advance(60_000);
    await expect(
      runRecordedReplay({
        client,
        deadLetterQueueUrl: `${deadLetterQueueUrl}-gone`,
        waitTimeSeconds: 0,
        eventsQueueUrl,
        ids: ['m1'],
        records: registry,
        by: 'ops@laptop',
        via: 'console',
        requested: 1,
        ratePerMinute: 100,
      }),
    ).rejects.toThrow();
    const [failed] = (await registry.listReplays()).replays;
    expect(failed).toMatchObject({ via: 'console', status: 'failed', filter: { ids: 1 } });
    expect(failed?.error).toMatch(/queue/i);
  });
});
