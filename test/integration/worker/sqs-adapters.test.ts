import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';
import {
  createSqsDeadLetterSink,
  createSqsMessageDeferral,
  createSqsMessageVisibility,
} from '../../../shared/automations/index.ts';
import { listDeadLetters } from '../../../shared/dlq/index.ts';
import {
  createEnvelope,
  createSqsEventQueue,
  envelopeMessageAttributes,
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

  test('a deferral is a new message due after its delay, with the attributes and its count', async () => {
    let offset = 0;
    const timed = await startLocalSqs({
      queues: [{ name: 'events' }],
      clock: () => Date.now() + offset,
    });
    const timedClient = new SQSClient({
      endpoint: timed.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const attributes = Object.fromEntries(
        Object.entries(envelopeMessageAttributes(envelope)).map(([name, value]) => [
          name,
          { dataType: value.DataType ?? 'String', stringValue: value.StringValue ?? '' },
        ]),
      );
      await createSqsMessageDeferral({ client: timedClient }).defer(
        {
          body: serializeEnvelope(envelope),
          messageId: 'm-original',
          receiptHandle: 'r',
          eventSourceARN: timed.queueArn('events'),
          attributes,
        },
        { delaySeconds: 90, deferrals: 1, deferredUntilMs: 1_700_000_090_000 },
      );
      const receive = () =>
        timedClient.send(
          new ReceiveMessageCommand({
            QueueUrl: timed.queueUrl('events'),
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
      expect((await receive()).Messages ?? []).toEqual([]); // not before its delay
      offset = 91_000;
      const [message] = (await receive()).Messages ?? [];
      expect(message?.Body).toBe(serializeEnvelope(envelope));
      expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
      expect(message?.MessageAttributes).toMatchObject({
        orgId: { StringValue: envelope.orgId },
        type: { StringValue: 'task.completed' },
        deferrals: { DataType: 'Number', StringValue: '1' },
        deferredUntil: { DataType: 'Number', StringValue: '1700000090000' },
      });
    } finally {
      timedClient.destroy();
      await timed.close();
    }
  });
});
