import {
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type LocalSqs, startLocalSqs, startSqsEventSource } from '../../../local/sqs/index.ts';
import { createSqsDeadLetterSink } from '../../../shared/automations/index.ts';
import {
  deadLetterAttributes,
  listDeadLetters,
  MAX_RECEIVES_EXCEEDED,
  replayDeadLetters,
} from '../../../shared/dlq/index.ts';
import {
  createEnvelope,
  createSqsEventQueue,
  type EventEnvelope,
  envelopeMessageAttributes,
  parseEnvelope,
} from '../../../shared/events/index.ts';

const ORG = 'org5f4e3d2c1b0a';
let sqs: LocalSqs;
let client: SQSClient;
let eventsQueueUrl: string;
let deadLetterQueueUrl: string;

beforeAll(async () => {
  sqs = await startLocalSqs({
    queues: [
      { name: 'events-dlq' },
      {
        name: 'events',
        attributes: {
          VisibilityTimeout: '0',
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:events-dlq',
            maxReceiveCount: 5,
          }),
        },
      },
    ],
  });
  client = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  eventsQueueUrl = sqs.queueUrl('events');
  deadLetterQueueUrl = sqs.queueUrl('events-dlq');
});

afterAll(async () => {
  client?.destroy();
  await sqs?.close();
});

beforeEach(async () => {
  sqs.clearFaults();
  for (const url of [eventsQueueUrl, deadLetterQueueUrl]) {
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
  }
});

const envelope = (taskId: string): EventEnvelope =>
  createEnvelope({
    orgId: ORG,
    type: 'task.completed',
    subjectId: taskId,
    occurredAt: '2026-11-19T10:42:13Z',
    receivedAtMs: Date.parse('2026-11-19T10:42:14Z'),
    origin: 'webhook',
    data: { this_task: { id: taskId } },
  });

const options = () => ({ client, deadLetterQueueUrl, waitTimeSeconds: 0 });

/**
 * Runs an SQS handler behind the local event source until the queue is drained. The handler
 * below plays the worker's documented permanent-failure path (docs/dead-letters.md): send the
 * original body to the DLQ with failureCode/failureReason, then report the record done.
 */
async function runWorker(handler: (event: SQSEvent) => Promise<SQSBatchResponse>) {
  const source = startSqsEventSource({
    client,
    queueUrl: eventsQueueUrl,
    handler,
    waitTimeSeconds: 0,
    idleDelayMs: 5,
  });
  await source.drain();
  await source.stop();
  return source.stats();
}

const permanentFailureWorker = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  for (const record of event.Records) {
    const failing = parseEnvelope(record.body);
    await client.send(
      new SendMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MessageBody: record.body,
        MessageAttributes: {
          ...envelopeMessageAttributes(failing),
          ...deadLetterAttributes({
            code: 'TALLYFY_NOT_FOUND',
            reason: `Task ${failing.subject} no longer exists in Tallyfy (404).`,
            failedAtMs: Date.parse('2026-11-19T10:43:00Z'),
            receiveCount: Number(record.attributes.ApproximateReceiveCount),
            sourceMessageId: record.messageId,
          }),
        },
      }),
    );
  }
  return { batchItemFailures: [] };
};

describe('dead letters through the real SQS client', () => {
  test('a permanent failure is listed with its reason and replayed with origin "replay"', async () => {
    await createSqsEventQueue({ client, queueUrl: eventsQueueUrl }).send(envelope('t404'));
    const stats = await runWorker(permanentFailureWorker);
    expect(stats.deleted).toBe(1);

    const letters = await listDeadLetters(options());
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter).toMatchObject({
      eventId: envelope('t404').id,
      orgId: ORG,
      type: 'task.completed',
      origin: 'webhook',
      kind: 'worker',
      code: 'TALLYFY_NOT_FOUND',
      reason: 'Task t404 no longer exists in Tallyfy (404).',
      receiveCount: 1,
      failedAt: '2026-11-19T10:43:00.000Z',
      replayable: true,
    });
    // listing hid nothing: the letter is still there
    expect(await listDeadLetters(options())).toHaveLength(1);

    const result = await replayDeadLetters({
      ...options(),
      eventsQueueUrl,
      ids: [letter?.messageId ?? ''],
    });
    expect(result.replayed).toEqual([
      { messageId: letter?.messageId, eventId: envelope('t404').id },
    ]);
    expect(await listDeadLetters(options())).toHaveLength(0);
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: eventsQueueUrl, MessageAttributeNames: ['All'] }),
    );
    const replayed = parseEnvelope(out.Messages?.[0]?.Body ?? '');
    expect(replayed).toEqual({ ...envelope('t404'), origin: 'replay' });
    expect(out.Messages?.[0]?.MessageAttributes?.replayOf?.StringValue).toBe(letter?.messageId);
  });

  test('nothing is deleted when the re-send fails', async () => {
    await createSqsEventQueue({ client, queueUrl: eventsQueueUrl }).send(envelope('t-keep'));
    await runWorker(permanentFailureWorker);
    sqs.injectFault({ operations: ['SendMessage'], queueName: 'events', count: 5 });

    const result = await replayDeadLetters({ ...options(), eventsQueueUrl, ids: 'all' });

    expect(result.replayed).toEqual([]);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.error).toMatch(/InternalError/);
    const letters = await listDeadLetters(options());
    expect(letters.map((l) => l.eventId)).toEqual([envelope('t-keep').id]);
    const events = await client.send(new ReceiveMessageCommand({ QueueUrl: eventsQueueUrl }));
    expect(events.Messages).toBeUndefined();
  });

  test('a message failing 5 receives is redriven, listed as MAX_RECEIVES_EXCEEDED, replayable by event id', async () => {
    await createSqsEventQueue({ client, queueUrl: eventsQueueUrl }).send(envelope('t-flaky'));
    const stats = await runWorker(async (event) => ({
      batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })),
    }));
    expect(stats.failed).toBe(5);

    const [letter, ...rest] = await listDeadLetters(options());
    expect(rest).toEqual([]);
    expect(letter).toMatchObject({
      kind: 'redrive',
      code: MAX_RECEIVES_EXCEEDED,
      replayable: true,
    });
    // the events queue's 5, however often the DLQ was looked at (its own count says 6, then 7)
    expect(letter?.receiveCount).toBe(5);
    expect(letter?.reason).toMatch(/^not processed after 5 receives .*events$/);
    const [again] = await listDeadLetters(options());
    expect(again?.reason).toBe(letter?.reason);

    const result = await replayDeadLetters({
      ...options(),
      eventsQueueUrl,
      ids: [envelope('t-flaky').id, 'no-such-letter'],
    });
    expect(result.replayed.map((r) => r.eventId)).toEqual([envelope('t-flaky').id]);
    expect(result.notFound).toEqual(['no-such-letter']);
  });

  test("an ACTION_IN_DOUBT letter lists its actions; replay carries the operator's choice for them only", async () => {
    const sink = createSqsDeadLetterSink({ client, queueUrl: deadLetterQueueUrl });
    const doubtful = envelope('t-doubt');
    const doubts = [
      { ruleId: 'notify', actionIndex: 1, type: 'comment_on_task', marker: 'tsf-0123456789abcdef' },
    ];
    const failure = {
      orgId: ORG,
      type: 'task.completed',
      sourceMessageId: 'm1',
      receiveCount: '5',
      failedAt: '2026-11-19T10:50:00.000Z',
    };
    await sink.send(JSON.stringify(doubtful), {
      ...failure,
      eventId: doubtful.id,
      failureCode: 'ACTION_IN_DOUBT',
      failureReason: 'rule notify action 1 (comment_on_task) in doubt: looking for it failed',
      actionsInDoubt: JSON.stringify(doubts),
    });
    const plain = envelope('t-plain');
    await sink.send(JSON.stringify(plain), {
      ...failure,
      eventId: plain.id,
      failureCode: 'TALLYFY_NOT_FOUND',
      failureReason: 'gone',
    });

    const letters = await listDeadLetters(options());
    const listed = letters.find((l) => l.eventId === doubtful.id);
    expect(listed).toMatchObject({ kind: 'worker', code: 'ACTION_IN_DOUBT', receiveCount: 5 });
    expect(listed?.actionsInDoubt).toEqual(doubts);
    expect(letters.find((l) => l.eventId === plain.id)?.actionsInDoubt).toBeUndefined();

    const result = await replayDeadLetters({
      ...options(),
      eventsQueueUrl,
      ids: 'all',
      resolution: 'mark_done',
    });
    expect(result.replayed).toHaveLength(2);
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: eventsQueueUrl, MaxNumberOfMessages: 10 }),
    );
    const sent = (out.Messages ?? []).map((m) => parseEnvelope(m.Body ?? ''));
    expect(sent.find((e) => e.id === doubtful.id)).toMatchObject({
      origin: 'replay',
      resolution: { as: 'done', actions: [{ ruleId: 'notify', actionIndex: 1 }] },
    });
    expect(sent.find((e) => e.id === plain.id)).not.toHaveProperty('resolution');
    expect(await listDeadLetters(options())).toEqual([]);
  });

  test('a letter whose body is not an envelope is listed with why, and never replayed or deleted', async () => {
    await client.send(
      new SendMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MessageBody: '{"not":"an envelope"}',
        MessageAttributes: deadLetterAttributes({
          code: 'EVENTS_ENVELOPE_INVALID',
          reason: 'The message is not an event envelope.',
          failedAtMs: Date.now(),
        }),
      }),
    );
    const [letter] = await listDeadLetters(options());
    expect(letter).toMatchObject({ replayable: false, code: 'EVENTS_ENVELOPE_INVALID' });
    expect(letter?.invalidBody).toMatch(/not an event envelope/);

    const result = await replayDeadLetters({ ...options(), eventsQueueUrl, ids: 'all' });
    expect(result.skipped).toHaveLength(1);
    expect(await listDeadLetters(options())).toHaveLength(1);
  });
});
