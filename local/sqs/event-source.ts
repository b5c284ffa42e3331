/**
 * The local stand-in for Lambda's SQS event source mapping: polls a queue with ReceiveMessage
 * (any SQS endpoint, through the real SDK client), hands each batch to a handler as an
 * `SQSEvent`, and deletes what succeeded per the handler's `batchItemFailures` (the
 * `ReportBatchItemFailures` response type). A handler that throws fails the whole batch:
 * nothing is deleted and the messages come back after their visibility timeout, with their
 * receive count (and the queue's redrive policy) going up, as in AWS.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { sleep } from '../../shared/async.ts';

/** What the source calls per batch: a Lambda SQS handler. */
export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

/** Options of {@link startSqsEventSource}. */
export interface SqsEventSourceOptions {
  /** A client pointed at the queue's endpoint. */
  client: SQSClient;
  queueUrl: string;
  handler: SqsBatchHandler;
  /** Records per batch (1-10). @default 10 */
  batchSize?: number;
  /** Long-poll wait per ReceiveMessage (0-20 s). @default 1 */
  waitTimeSeconds?: number;
  /** Visibility timeout per receive; the queue's own when unset. */
  visibilityTimeoutSeconds?: number;
  /** Pause after an empty short poll (`waitTimeSeconds: 0`). @default 50 */
  idleDelayMs?: number;
  /** Pause after a failed ReceiveMessage before the next. @default 500 */
  errorDelayMs?: number;
  /** Queue ARN put on each record. @default derived from the queue URL */
  eventSourceArn?: string;
  /** @default 'us-east-1' */
  awsRegion?: string;
  /**
   * Awaited before each ReceiveMessage: messages stay in the queue while what the handler needs
   * is down (local mode: DynamoDB Local restarting). A rejection pauses like a failed receive.
   */
  whenReady?: () => Promise<void>;
  /** Receives ReceiveMessage/DeleteMessageBatch failures and handler exceptions. */
  onError?: (error: unknown, context: { stage: 'receive' | 'handler' | 'delete' }) => void;
}

export interface SqsEventSourceStats {
  batches: number;
  records: number;
  /** Records deleted after success. */
  deleted: number;
  /** Records left on the queue (reported failures, or a thrown handler). */
  failed: number;
}

export interface SqsEventSource {
  /**
   * Resolves when a receive that started after this call came back empty with no batch in
   * flight: everything visible then has been handled. Messages still invisible (failed and
   * waiting for their visibility timeout) are not waited for.
   */
  drain(): Promise<void>;
  /** Stops polling and waits for the batch in flight (and its deletes) to finish. */
  stop(): Promise<void>;
  stats(): SqsEventSourceStats;
}

/**
 * Starts polling at once.
 *
 * @example
 * const source = startSqsEventSource({ client: sqs, queueUrl, handler: createEventWorkerHandler(deps) });
 * await source.drain();
 * await source.stop();
 */
export function startSqsEventSource(options: SqsEventSourceOptions): SqsEventSource {
  const { client, queueUrl, handler, onError } = options;
  const batchSize = options.batchSize ?? 10;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new RangeError(`startSqsEventSource: batchSize must be 1-10, got ${batchSize}`);
  }
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20) {
    throw new RangeError(
      `startSqsEventSource: waitTimeSeconds must be 0-20, got ${waitTimeSeconds}`,
    );
  }
  const eventSourceArn = options.eventSourceArn ?? arnOf(queueUrl, options.awsRegion);
  const awsRegion = options.awsRegion ?? 'us-east-1';
  const stats: SqsEventSourceStats = { batches: 0, records: 0, deleted: 0, failed: 0 };
  const abort = new AbortController();
  const stopped = new Promise<false>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve(false), { once: true }),
  );
  let stopping = false;
  /** Sequence number of the next receive, and of the latest receive that came back empty. */
  let nextPoll = 0;
  let lastEmptyPoll = -1;
  let drainers: { after: number; resolve: () => void }[] = [];
  const settleDrainers = () => {
    const ready = drainers.filter((d) => stopping || lastEmptyPoll >= d.after);
    drainers = drainers.filter((d) => !ready.includes(d));
    for (const d of ready) d.resolve();
  };

  const processBatch = async (messages: Message[]): Promise<void> => {
    stats.batches += 1;
    stats.records += messages.length;
    const records = messages.map((m) => toRecord(m, eventSourceArn, awsRegion));
    let failedIds: Set<string>;
    try {
      const response = await handler({ Records: records });
      const reported = response?.batchItemFailures ?? [];
      const known = new Set(records.map((r) => r.messageId));
      // Lambda fails the whole batch when an identifier is empty or not one of the batch's
      failedIds = reported.every((f) => known.has(f.itemIdentifier))
        ? new Set(reported.map((f) => f.itemIdentifier))
        : known;
    } catch (error) {
      onError?.(error, { stage: 'handler' });
      failedIds = new Set(records.map((r) => r.messageId));
    }
    stats.failed += failedIds.size;
    const done = records.filter((r) => !failedIds.has(r.messageId));
    if (done.length === 0) return;
    try {
      const out = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
      stats.deleted += out.Successful?.length ?? 0;
      if ((out.Failed?.length ?? 0) > 0) {
        onError?.(new Error(`DeleteMessageBatch failed for ${out.Failed?.length} records`), {
          stage: 'delete',
        });
      }
    } catch (error) {
      onError?.(error, { stage: 'delete' });
    }
  };

  const loop = (async () => {
    while (!stopping) {
      if (options.whenReady) {
        const ready = await Promise.race([
          options.whenReady().then(
            () => true,
            () => false,
          ),
          stopped,
        ]);
        if (stopping) break;
        if (!ready) {
          await sleep(options.errorDelayMs ?? 500);
          continue;
        }
      }
      const poll = nextPoll++;
      let messages: Message[];
      try {
        const out = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            ...(options.visibilityTimeoutSeconds === undefined
              ? {}
              : { VisibilityTimeout: options.visibilityTimeoutSeconds }),
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (stopping) break;
        onError?.(error, { stage: 'receive' });
        await sleep(options.errorDelayMs ?? 500);
        continue;
      }
      if (messages.length === 0) {
        lastEmptyPoll = poll;
        settleDrainers();
        if (waitTimeSeconds === 0) await sleep(options.idleDelayMs ?? 50);
        continue;
      }
      await processBatch(messages);
    }
    settleDrainers();
  })();

  return {
    drain() {
      if (stopping) return Promise.resolve();
      return new Promise<void>((resolve) => {
        drainers.push({ after: nextPoll, resolve });
      });
    },
    async stop() {
      stopping = true;
      abort.abort();
      await loop;
      settleDrainers();
    },
    stats: () => ({ ...stats }),
  };
}

function arnOf(queueUrl: string, region = 'us-east-1'): string {
  const [name = '', account = '000000000000'] = new URL(queueUrl).pathname
    .split('/')
    .filter(Boolean)
    .reverse();
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/** A received message as Lambda delivers it (camelCase attribute values). */
function toRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const system = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined
        ? {}
        : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? '',
      SenderId: system.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '',
      ...(system.DeadLetterQueueSourceArn === undefined
        ? {}
        : { DeadLetterQueueSourceArn: system.DeadLetterQueueSourceArn }),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes === undefined
      ? {}
      : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}
