import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalSqs, startLocalSqs, startSqsEventSource } from '../../../local/sqs/index.ts';

let sqs: LocalSqs;
let client: SQSClient;

beforeAll(async () => {
  sqs = await startLocalSqs();
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

let n = 0;
async function queueWith(bodies: string[], visibility = '0'): Promise<string> {
  n += 1;
  const { CreateQueueCommand } = await import('@aws-sdk/client-sqs');
  const out = await client.send(
    new CreateQueueCommand({ QueueName: `src${n}`, Attributes: { VisibilityTimeout: visibility } }),
  );
  const url = out.QueueUrl as string;
  await client.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: bodies.map((body, i) => ({
        Id: String(i),
        MessageBody: body,
        MessageAttributes: { orgId: { DataType: 'String', StringValue: 'org1' } },
      })),
    }),
  );
  return url;
}

const remaining = (url: string) =>
  sqs
    .snapshot()
    .queues.find((q) => url.endsWith(`/${q.name}`))
    ?.messages.map((m) => m.body) ?? [];

describe('local SQS event source (Lambda event source mapping semantics)', () => {
  test('delivers SQSEvent records and deletes all but the reported batchItemFailures', async () => {
    const url = await queueWith(['ok-1', 'bad', 'ok-2'], '300');
    const seen: SQSEvent[] = [];
    const source = startSqsEventSource({
      client,
      queueUrl: url,
      waitTimeSeconds: 0,
      idleDelayMs: 5,
      handler: async (event) => {
        seen.push(event);
        return {
          batchItemFailures: event.Records.filter((r) => r.body === 'bad').map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    await source.drain();
    await source.stop();
    const record = seen[0]?.Records[0];
    expect(record?.eventSource).toBe('aws:sqs');
    expect(record?.attributes.ApproximateReceiveCount).toBe('1');
    expect(record?.messageAttributes.orgId).toMatchObject({
      dataType: 'String',
      stringValue: 'org1',
    });
    expect(source.stats()).toMatchObject({ records: 3, deleted: 2, failed: 1 });
    expect(remaining(url)).toEqual(['bad']);
  });

  test('a handler that throws fails the whole batch: nothing is deleted', async () => {
    const url = await queueWith(['a', 'b'], '300');
    const errors: string[] = [];
    const source = startSqsEventSource({
      client,
      queueUrl: url,
      waitTimeSeconds: 0,
      idleDelayMs: 5,
      handler: async () => {
        throw new Error('boom');
      },
      onError: (_error, context) => errors.push(context.stage),
    });
    await source.drain();
    await source.stop();
    expect(errors).toEqual(['handler']);
    expect(remaining(url).sort()).toEqual(['a', 'b']);
  });

  test('an unknown itemIdentifier fails the whole batch, as Lambda does', async () => {
    const url = await queueWith(['x'], '300');
    const source = startSqsEventSource({
      client,
      queueUrl: url,
      waitTimeSeconds: 0,
      idleDelayMs: 5,
      handler: async () => ({ batchItemFailures: [{ itemIdentifier: 'not-a-message-id' }] }),
    });
    await source.drain();
    await source.stop();
    expect(remaining(url)).toEqual(['x']);
  });
});
