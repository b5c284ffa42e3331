import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';
import {
  createSqsDeadLetterSink,
  createSqsMessageVisibility,
} from '../../../shared/automations/index.ts';
import { listDeadLetters } from '../../../shared/dlq/index.ts';
import {
  createEnvelope,
  createSqsEventQueue,
  serializeEnvelope,
} from '../../../shared/events/index.ts';

let sqs: LocalSqs;
let client: SQSClient;

beforeAll(async () => {
  sqs = await startLocalSqs({ queues: [{ name: 'events-dlq' }, { name: 'events' }] });
  client = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client?.destroy();
  await sqs?.close();
});

const envelope = createEnvelope({
  orgId: 'org5f4e3d2c1b0a',
  type: 'task.completed',
  subjectId: 't-dlq',
  occurredAt: '2026-11-19T10:42:13Z',
  receivedAtMs: Date.parse('2026-11-19T10:42:14Z'),
  origin: 'webhook',
  data: { this_task: { id: 't-dlq' } },
});

describe('worker SQS adapters (real SDK client, local SQS endpoint)', () => {
  test('a visibility change finds the queue from the record ARN and makes the message visible again', async () => {
    await createSqsEventQueue({ client, queueUrl: sqs.queueUrl('events') }).send(envelope);
    const first = await client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl('events'), VisibilityTimeout: 600 }),
    );
    const message = first.Messages?.[0];
    expect(message?.ReceiptHandle).toBeDefined();
    const hidden = await client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl('events') }),
    );
    expect(hidden.Messages ?? []).toHaveLength(0);

    const visibility = createSqsMessageVisibility({ client });
    await visibility.change(
      { receiptHandle: message?.ReceiptHandle ?? '', eventSourceARN: sqs.queueArn('events') },
      0,
    );
    const again = await client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl('events') }),
    );
    expect(again.Messages?.[0]?.MessageId).toBe(message?.MessageId);
  });

  test('a dead letter carries the DLQ contract attributes the listing reads', async () => {
    const sink = createSqsDeadLetterSink({ client, queueUrl: sqs.queueUrl('events-dlq') });
    await sink.send(serializeEnvelope(envelope), {
      failureCode: 'TALLYFY_NOT_FOUND',
      failureReason: 'rule r1 action 0: task t-dlq not found',
      orgId: envelope.orgId,
      type: envelope.type,
      eventId: envelope.id,
      sourceMessageId: 'm-1',
      receiveCount: '2',
      failedAt: '2026-11-19T10:43:00.000Z',
    });
    const letters = await listDeadLetters({
      client,
      deadLetterQueueUrl: sqs.queueUrl('events-dlq'),
      waitTimeSeconds: 0,
    });
    expect(letters).toEqual([
      expect.objectContaining({
        kind: 'worker',
        code: 'TALLYFY_NOT_FOUND',
        reason: 'rule r1 action 0: task t-dlq not found',
        eventId: envelope.id,
        orgId: envelope.orgId,
        type: 'task.completed',
        receiveCount: 2,
        failedAt: '2026-11-19T10:43:00.000Z',
        replayable: true,
      }),
    ]);
  });
});
