/**
 * SQS adapters of the worker ports: dead letters via SendMessage to EVENTS_DLQ_URL, and
 * ChangeMessageVisibility on the queue a record came from (its URL resolved once from the
 * record's `eventSourceARN` with GetQueueUrl, or given).
 */
import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { deadLetterAttributes } from '../../dlq/index.ts';
import { AutomationError } from '../errors.ts';
import type { DeadLetterSink, MessageDeferral, MessageVisibility } from './ports.ts';

/**
 * Dead letters on SQS, with the attributes of the DLQ contract (docs/dead-letters.md,
 * `deadLetterAttributes`) plus the envelope's `orgId`, `type` and `eventId`.
 */
export function createSqsDeadLetterSink(options: {
  client: SQSClient;
  /** EVENTS_DLQ_URL. */
  queueUrl: string;
}): DeadLetterSink {
  return {
    async send(body, attributes) {
      const MessageAttributes: Record<string, MessageAttributeValue> = {
        ...deadLetterAttributes({
          code: attributes.failureCode,
          reason: attributes.failureReason,
          failedAtMs: Date.parse(attributes.failedAt),
          receiveCount: Number(attributes.receiveCount),
          sourceMessageId: attributes.sourceMessageId,
        }),
      };
      for (const name of ['orgId', 'type', 'eventId', 'actionsInDoubt'] as const) {
        const value = attributes[name];
        if (value !== undefined && value !== '') {
          MessageAttributes[name] = { DataType: 'String', StringValue: value };
        }
      }
      await options.client.send(
        new SendMessageCommand({
          QueueUrl: options.queueUrl,
          MessageBody: body,
          MessageAttributes,
        }),
      );
    },
  };
}

/** `arn:aws:sqs:<region>:<account>:<name>` → its parts. */
function parseQueueArn(arn: string): { account: string; name: string } {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[2] !== 'sqs') throw new TypeError(`not an SQS queue ARN: ${arn}`);
  return { account: parts[4] as string, name: parts[5] as string };
}

/** The URL of the queue a record came from: given, or resolved from its ARN once (GetQueueUrl). */
function queueUrlResolver(client: SQSClient, queueUrl: string | undefined) {
  const urls = new Map<string, Promise<string>>();
  return (arn: string): Promise<string> => {
    if (queueUrl) return Promise.resolve(queueUrl);
    let url = urls.get(arn);
    if (!url) {
      const { account, name } = parseQueueArn(arn);
      url = client
        .send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }))
        .then((out) => {
          if (!out.QueueUrl) {
            throw new AutomationError(
              'AUTOMATIONS_QUEUE_URL_UNKNOWN',
              `GetQueueUrl answered without a URL for ${arn}: the retry delay is not set (the message comes back after the queue's visibility timeout)`,
              { retryable: true },
            );
          }
          return out.QueueUrl;
        });
      // the caller still gets the failure; only the cache forgets it, so the next call asks again
      url.catch(() => urls.delete(arn));
      urls.set(arn, url);
    }
    return url;
  };
}

/** Visibility changes on SQS. */
export function createSqsMessageVisibility(options: {
  client: SQSClient;
  /** The queue's URL when known (else resolved from each record's ARN once). */
  queueUrl?: string;
}): MessageVisibility {
  const urlFor = queueUrlResolver(options.client, options.queueUrl);
  return {
    async change(message, seconds) {
      await options.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: await urlFor(message.eventSourceARN),
          ReceiptHandle: message.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
  };
}

/** SQS's longest `DelaySeconds`. */
export const MAX_DELAY_SECONDS = 900;

/**
 * Deferrals on SQS: the same body and attributes sent again to the record's own queue with
 * `DelaySeconds` (≤ 900) and the attributes `deferrals` and `deferredUntil`. Needs
 * `sqs:SendMessage` on the events queue.
 */
export function createSqsMessageDeferral(options: {
  client: SQSClient;
  /** The queue's URL when known (else resolved from each record's ARN once). */
  queueUrl?: string;
}): MessageDeferral {
  const urlFor = queueUrlResolver(options.client, options.queueUrl);
  return {
    async defer(message, { delaySeconds, deferrals, deferredUntilMs }) {
      const MessageAttributes: Record<string, MessageAttributeValue> = {};
      for (const [name, value] of Object.entries(message.attributes)) {
        MessageAttributes[name] = { DataType: value.dataType, StringValue: value.stringValue };
      }
      MessageAttributes[DEFERRALS_ATTRIBUTE] = {
        DataType: 'Number',
        StringValue: String(deferrals),
      };
      MessageAttributes[DEFERRED_UNTIL_ATTRIBUTE] = {
        DataType: 'Number',
        StringValue: String(deferredUntilMs),
      };
      await options.client.send(
        new SendMessageCommand({
          QueueUrl: await urlFor(message.eventSourceARN),
          MessageBody: message.body,
          DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds))),
          MessageAttributes,
        }),
      );
    },
  };
}

/** Message attribute: how often the message was deferred (a `Number`). */
export const DEFERRALS_ATTRIBUTE = 'deferrals';
/** Message attribute: epoch ms before which the message is deferred again, not run. */
export const DEFERRED_UNTIL_ATTRIBUTE = 'deferredUntil';
