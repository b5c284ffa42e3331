/**
 * The event path: SQS events queue with its dead-letter queue, and the EventBridge bus normalized
 * events are published to (ARCHITECTURE.md picture: Q, DLQ, BUS).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type Archive, EventBus } from 'aws-cdk-lib/aws-events';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
/**
 * Receives before a message moves to the dead-letter queue (ARCHITECTURE.md: "after 5 tries"):
 * the DLQ contract's, which the worker reads to dead-letter an event's last receive itself.
 */
import { MAX_RECEIVE_COUNT } from '../../shared/dlq/contract.ts';
import { acknowledgeRule } from './nag.ts';

export { MAX_RECEIVE_COUNT };

/**
 * AWS's advice for SQS event sources: visibility timeout at least six times the function
 * timeout, so a batch retried by Lambda's poller is not redelivered while still in flight.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Properties of {@link EventsPipeline}. */
export interface EventsPipelineProps {
  /**
   * Timeout of the event worker; the queue's visibility timeout is derived from it
   * ({@link VISIBILITY_TIMEOUT_FACTOR} times).
   * @default Duration.seconds(120)
   */
  readonly workerTimeout?: Duration;
  /**
   * Customer managed KMS key for the queues.
   * @default - SQS managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;
  /**
   * Name of the EventBridge bus.
   * @default - generated from the construct path
   */
  readonly eventBusName?: string;
  /**
   * Keep an EventBridge archive of the bus's events for replay, for this many days
   * (0 keeps them forever).
   * @default - no archive
   */
  readonly busArchiveRetentionDays?: number;
  /**
   * What happens to the queues when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Events queue (SSE, TLS only) with a dead-letter queue after {@link MAX_RECEIVE_COUNT}
 * receives, the queue of failed asynchronous invocations, and the custom EventBridge bus.
 *
 * @example
 * const events = new EventsPipeline(this, 'Events', { workerTimeout: Duration.seconds(60) });
 * events.queue.grantSendMessages(receiver);
 */
export class EventsPipeline extends Construct {
  /** Queue the receiver and reconciler send events to, consumed by the event worker. */
  readonly queue: Queue;
  /** Messages received {@link MAX_RECEIVE_COUNT} times without success (kept 14 days). */
  readonly deadLetterQueue: Queue;
  /**
   * Asynchronous invocations that failed after Lambda's retries (scheduled runs of the
   * refresher, reconciler and reporter; refresh requests): their on-failure destination, kept
   * 14 days, with the request and the error.
   */
  readonly failedInvocations: Queue;
  /** Bus of normalized events (source `tallyfy`). */
  readonly bus: EventBus;
  /** Archive of the bus, when asked for. */
  readonly busArchive?: Archive;
  /** The worker timeout the queue was sized for. */
  readonly workerTimeout: Duration;

  constructor(scope: Construct, id: string, props: EventsPipelineProps = {}) {
    super(scope, id);
    this.workerTimeout = props.workerTimeout ?? Duration.seconds(120);
    const workerSeconds = this.workerTimeout.toSeconds();
    if (workerSeconds < 1 || workerSeconds > 900) {
      throw new Error(
        `EventsPipeline: workerTimeout must be 1-900 seconds (a Lambda timeout), got ${workerSeconds}`,
      );
    }
    const retention = props.busArchiveRetentionDays;
    if (retention !== undefined && (!Number.isInteger(retention) || retention < 0)) {
      throw new Error(
        `EventsPipeline: busArchiveRetentionDays must be a whole number >= 0, got ${retention}`,
      );
    }

    const encryption = props.encryptionKey
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: QueueEncryption.SQS_MANAGED };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    acknowledgeRule(
      this.deadLetterQueue,
      'SQS3',
      'This queue is the dead-letter queue of the events queue; a DLQ of a DLQ would hide failures.',
    );

    this.queue = new Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(workerSeconds * VISIBILITY_TIMEOUT_FACTOR),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy,
    });

    this.failedInvocations = new Queue(this, 'FailedInvocations', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    acknowledgeRule(
      this.failedInvocations,
      'SQS3',
      'This queue is the on-failure destination of asynchronous Lambda invocations: a failure record lands here once, for an operator to read; a DLQ behind it would hide failures.',
    );

    // The bus stays on AWS-owned encryption even with a customer key: a customer key on a bus
    // needs a key policy for events.amazonaws.com, which an imported key's policy cannot get here.
    this.bus = new EventBus(this, 'Bus', { eventBusName: props.eventBusName });
    if (retention !== undefined) {
      this.busArchive = this.bus.archive('Archive', {
        description: 'Normalized Tallyfy events, for replay',
        eventPattern: { source: ['tallyfy'] },
        retention: retention === 0 ? undefined : Duration.days(retention),
      });
    }
  }
}
