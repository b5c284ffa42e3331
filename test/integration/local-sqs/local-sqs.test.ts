import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const clientFor = (sqs: LocalSqs) =>
  new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

let dir: string;
let sqs: LocalSqs;
let client: SQSClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-sqs-'));
  sqs = await startLocalSqs();
  client = clientFor(sqs);
});

afterAll(async () => {
  client?.destroy();
  await sqs?.close();
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function queue(attributes: Record<string, string> = {}): Promise<string> {
  counter += 1;
  const out = await client.send(
    new CreateQueueCommand({ QueueName: `q${counter}-${process.pid}`, Attributes: attributes }),
  );
  return out.QueueUrl as string;
}

describe('local SQS through @aws-sdk/client-sqs', () => {
  test('send, receive with attributes and MD5s the SDK verifies, delete', async () => {
    const url = await queue();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"hello":"wörld"}',
        MessageAttributes: { orgId: { DataType: 'String', StringValue: 'org1' } },
      }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    const [message] = out.Messages ?? [];
    expect(message?.Body).toBe('{"hello":"wörld"}');
    expect(message?.MessageAttributes?.orgId?.StringValue).toBe('org1');
    expect(message?.Attributes).toEqual({ ApproximateReceiveCount: '1' });
    expect(message?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    await client.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message?.ReceiptHandle }),
    );
    const after = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    expect(after.Attributes?.ApproximateNumberOfMessages).toBe('0');
    expect(after.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('0');
  });

  test('a received message stays invisible for its visibility timeout, then comes back', async () => {
    const url = await queue();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm' }));
    const first = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 30 }),
    );
    expect(first.Messages).toHaveLength(1);
    const hidden = await client.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(hidden.Messages).toBeUndefined();
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    // the first receipt handle is stale now: deleting with it leaves the message
    await client.send(
      new DeleteMessageCommand({
        QueueUrl: url,
        ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
      }),
    );
    const attrs = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');
  });

  test('a long poll returns as soon as a message is sent', async () => {
    const url = await queue();
    const started = Date.now();
    const receiving = client.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 }),
    );
    setTimeout(() => {
      void client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' }));
    }, 100);
    const out = await receiving;
    expect(out.Messages?.[0]?.Body).toBe('late');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('batch send and delete, MaxNumberOfMessages, purge', async () => {
    const url = await queue();
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageBody: `m${i}` })),
      }),
    );
    expect(sent.Successful).toHaveLength(10);
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 4 }),
    );
    expect(out.Messages).toHaveLength(4);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: (out.Messages ?? []).map((m, i) => ({
          Id: `d${i}`,
          ReceiptHandle: m.ReceiptHandle,
        })),
      }),
    );
    expect(deleted.Successful).toHaveLength(4);
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    const empty = await client.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(empty.Messages).toBeUndefined();
  });

  test('after maxReceiveCount receives a message moves to the dead-letter queue', async () => {
    const dlq = await queue();
    const dlqName = dlq.split('/').at(-1) as string;
    const url = await queue({
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: sqs.queueArn(dlqName),
        maxReceiveCount: 2,
      }),
      VisibilityTimeout: '0',
    });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let i = 0; i < 2; i++) {
      const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url }));
      expect(out.Messages).toHaveLength(1);
    }
    const third = await client.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(third.Messages).toBeUndefined();
    const dead = await client.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MessageSystemAttributeNames: ['All'] }),
    );
    expect(dead.Messages?.[0]?.Body).toBe('poison');
    expect(dead.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn).toBe(
      sqs.queueArn(url.split('/').at(-1) as string),
    );
    expect(Number(dead.Messages?.[0]?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(
      2,
    );
  });

  test('unknown queues answer QueueDoesNotExist; oversized messages are refused', async () => {
    const error = await client
      .send(new GetQueueUrlCommand({ QueueName: 'nope' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    const url = await queue();
    const big = await client
      .send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(262_145) }))
      .catch((e: unknown) => e);
    expect((big as Error).name).toBe('InvalidParameterValue');
  });

  test('queues and messages survive a restart with the same data file', async () => {
    const dataFile = join(dir, 'sqs.jsonl');
    const first = await startLocalSqs({ dataFile, queues: [{ name: 'events' }] });
    const c1 = clientFor(first);
    await c1.send(
      new SendMessageCommand({ QueueUrl: first.queueUrl('events'), MessageBody: 'kept' }),
    );
    c1.destroy();
    await first.close();

    const second = await startLocalSqs({ dataFile, queues: [{ name: 'events' }] });
    const c2 = clientFor(second);
    const out = await c2.send(new ReceiveMessageCommand({ QueueUrl: second.queueUrl('events') }));
    expect(out.Messages?.[0]?.Body).toBe('kept');
    c2.destroy();
    await second.close();
  });
});
