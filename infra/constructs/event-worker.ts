/**
 * The event worker part (functions/event-worker): consumes the events queue with partial batch
 * failures, acts through the Tallyfy API with cached tokens, publishes to the bus, moves
 * permanent failures to the dead-letter queue itself, and asks the refresher for a refresh.
 */

import { Duration } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../../shared/observability/services.ts';
import { ARCHIVE_KEY_PREFIX } from '../../shared/webhooks/archive-key.ts';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import type { TallyfyFunction } from './function.ts';
import { accessForCalls, type TableCall } from './orgs-table.ts';

/**
 * The orgs-table calls of the worker's code (shared/automations/worker, engine): the org and
 * its rules, the event's dedupe claim and status, and the per-action records that keep each
 * action to one effect. It never writes an org, rule or watermark item.
 */
export const WORKER_TABLE_CALLS: readonly TableCall[] = [
  'getOrg',
  'listRules',
  'claimEvent',
  'getEvent',
  'updateEvent',
  'abandonAction',
];

/**
 * Concurrent worker invocations the events queue may drive when the worker has no reserved
 * concurrency: a backlog (after an outage) then cannot take the account's whole Lambda pool
 * from the receiver. Tallyfy's per-org rate limit, not Lambda, bounds useful worker
 * concurrency (docs/scaling.md); with a reservation, the reservation is the cap.
 */
export const DEFAULT_WORKER_MAX_CONCURRENCY = 50;

/** Properties of {@link EventWorker}. */
export interface EventWorkerProps {
  /** The integration whose queue, table, bus, secrets and alarm topic the worker uses. */
  readonly integration: TallyfyIntegration;
  /** Handler module (`functions/event-worker/index.ts`, or yours wrapping it). */
  readonly entry: string;
  /** The token refresher, invoked on demand (REFRESH_REQUESTS). */
  readonly refresher: IFunction;
  /**
   * Messages per invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Alarm when the oldest queued event is older than this: the worker is falling behind.
   * @default Duration.minutes(15)
   */
  readonly maxEventAge?: Duration;
  /**
   * Function memory in MiB.
   * @default 512
   */
  readonly memorySize?: number;
}

/**
 * The worker. Its timeout is the integration's `events.workerTimeout`, which sized the queue's
 * visibility timeout (6x), so the two cannot drift apart. The queue drives at most its reserved
 * concurrency (or {@link DEFAULT_WORKER_MAX_CONCURRENCY}) at once, so a poll is never throttled
 * into an extra receive.
 *
 * @example
 * new EventWorker(integration, 'EventWorker', { integration, entry, refresher: refresher.fn.function });
 */
export class EventWorker extends Construct {
  /** The function. */
  readonly fn: TallyfyFunction;
  /** The oldest queued event waits longer than `maxEventAge`. */
  readonly backlogAlarm: Alarm;

  constructor(scope: Construct, id: string, props: EventWorkerProps) {
    super(scope, id);
    const { integration } = props;
    const { events, storage } = integration;
    this.fn = integration
      .addFunction('Function', {
        scope: this,
        part: SERVICE_NAMES.worker,
        entry: props.entry,
        timeout: events.workerTimeout,
        memorySize: props.memorySize,
      })
      .bindTable(integration.orgs.table, accessForCalls(WORKER_TABLE_CALLS))
      .bindTokenSecrets(integration.secrets)
      .bindAutomationSecrets(integration.secrets)
      .bindEventBus(events.bus)
      .bindRefreshRequests(props.refresher)
      .bindDeadLetterQueue(events.deadLetterQueue)
      .bindArchiveBucket(storage.archiveBucket, { access: 'read', keyPrefix: ARCHIVE_KEY_PREFIX });
    this.fn.consumeQueue(events.queue, {
      batchSize: props.batchSize ?? 10,
      // a Retry-After beyond the client's cap: the message is sent again with a delay
      deferrals: true,
      // with a reservation, consumeQueue matches maxConcurrency to it
      maxConcurrency:
        this.fn.reservedConcurrentExecutions === undefined
          ? DEFAULT_WORKER_MAX_CONCURRENCY
          : undefined,
    });

    const maxAge = props.maxEventAge ?? Duration.minutes(15);
    this.backlogAlarm = integration.alarms.alarm(
      this,
      'BacklogAlarm',
      events.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      {
        description: `The oldest queued event has waited over ${maxAge.toHumanString()} for 3 periods: the worker is failing or throttled (docs/operations.md#worker-backlog).`,
        threshold: maxAge.toSeconds(),
        evaluationPeriods: 3,
      },
    );
  }
}
