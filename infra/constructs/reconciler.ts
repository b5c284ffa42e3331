/**
 * The reconciler part (functions/reconciler): on a schedule, finds the events Tallyfy never
 * delivered, and the queued ones that never got an outcome, and enqueues them; alarms when it
 * recovers more than a threshold, when it rescues any, and when it keeps failing for some org.
 */
import { Duration } from 'aws-cdk-lib';
import type { Alarm, Metric, MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../../shared/observability/services.ts';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import type { TallyfyFunction } from './function.ts';
import type { EmittedMetricName } from './metrics.ts';
import { accessForCalls, type TableCall } from './orgs-table.ts';

/**
 * The orgs-table calls of the reconciler's code (shared/reconcile): the active orgs (byKind),
 * one org on demand, its watermarks (read, conditional advance), the run cursor (where the next
 * run's round starts), the seen markers and the worker's claims read together (an event's
 * outcome), and markers written for what it enqueues. No delete, no org write.
 */
export const RECONCILER_TABLE_CALLS: readonly TableCall[] = [
  'listOrgs',
  'getOrg',
  'getWatermark',
  'advanceWatermark',
  'runCursor',
  'traceEvents',
  'markSeen',
];

/** Properties of {@link Reconciler}. */
export interface ReconcilerProps {
  /** The integration whose table, queue, secrets and alarm topic the reconciler uses. */
  readonly integration: TallyfyIntegration;
  /** Handler module (`functions/reconciler/index.ts`). */
  readonly entry: string;
  /** The token refresher, invoked on demand (REFRESH_REQUESTS). */
  readonly refresher: IFunction;
  /** Minutes between runs. */
  readonly intervalMinutes: number;
  /** Alarm when more events than this are recovered in one hour. */
  readonly recoveredEventsPerHourThreshold: number;
  /**
   * Function timeout.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * Function memory in MiB.
   * @default 512
   */
  readonly memorySize?: number;
}

/**
 * Scheduled reconciler: reads token secrets (never credentials), reads org items and seen
 * markers, advances watermarks, sends recovered events to the events queue.
 *
 * @example
 * new Reconciler(integration, 'Reconciler', {
 *   integration, entry, refresher: refresher.fn.function, intervalMinutes: 15,
 *   recoveredEventsPerHourThreshold: 10,
 * });
 */
export class Reconciler extends Construct {
  /** The function. */
  readonly fn: TallyfyFunction;
  /** The EventBridge rule that runs it. */
  readonly schedule: Rule;
  /** More events recovered than the threshold in an hour: webhooks are being lost. */
  readonly recoveriesAlarm: Alarm;
  /** Some org's reconciliation failed in 2 of the last 3 intervals. */
  readonly failuresAlarm: Alarm;
  /**
   * Events were rescued in the last hour: queued (seen) but without a processed or
   * dead-lettered outcome after the grace period, so work was lost between the queue and the
   * worker (queue data lost, retention expired, a bug).
   */
  readonly rescuesAlarm: Alarm;

  private readonly integration: TallyfyIntegration;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const { integration, intervalMinutes } = props;
    this.integration = integration;
    this.period = Duration.minutes(intervalMinutes);
    const threshold = props.recoveredEventsPerHourThreshold;
    if (!Number.isInteger(threshold) || threshold < 0) {
      throw new Error(
        `Reconciler: recoveredEventsPerHourThreshold must be a whole number >= 0, got ${threshold}`,
      );
    }
    this.fn = integration
      .addFunction('Function', {
        scope: this,
        part: SERVICE_NAMES.reconciler,
        entry: props.entry,
        timeout: props.timeout ?? Duration.minutes(5),
        memorySize: props.memorySize,
      })
      .bindTable(integration.orgs.table, accessForCalls(RECONCILER_TABLE_CALLS))
      .bindTokenSecrets(integration.secrets)
      .bindRefreshRequests(props.refresher)
      .bindEventsQueue(integration.events.queue)
      .sendAsyncFailuresTo(integration.events.failedInvocations);

    this.schedule = new Rule(this, 'Schedule', {
      description: `Runs the reconciler every ${intervalMinutes} minute(s)`,
      schedule: Schedule.rate(this.period),
      targets: [new LambdaFunction(this.fn.function)],
    });

    this.recoveriesAlarm = integration.alarms.alarm(
      this,
      'RecoveriesAlarm',
      this.metricEventsRecovered(),
      {
        description: `The reconciler recovered more than ${threshold} lost webhooks in an hour: webhooks are not reaching the receiver (docs/operations.md#reconciler-recoveries).`,
        threshold,
      },
    );
    this.rescuesAlarm = integration.alarms.alarm(this, 'RescuesAlarm', this.metricEventsRescued(), {
      description:
        'The reconciler enqueued again events that reached the queue but were neither processed nor dead-lettered within the grace period: work was lost between the queue and the worker (docs/operations.md#reconciler-rescues).',
      threshold: 0,
    });
    this.failuresAlarm = integration.alarms.alarm(
      this,
      'FailuresAlarm',
      this.metric('ReconcileFailures', { statistic: 'Sum' }),
      {
        description:
          'Reconciling some org failed in 2 of the last 3 reconciler intervals: its lost webhooks are not being recovered (docs/operations.md#reconcile-failures).',
        threshold: 0,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      },
    );
  }

  /**
   * Lost webhooks recovered (`EventsRecovered`: events Tallyfy reports that never came by
   * webhook, enqueued by the reconciler). Sum per hour.
   */
  metricEventsRecovered(props?: MetricOptions): Metric {
    return this.metric('EventsRecovered', {
      statistic: 'Sum',
      period: Duration.hours(1),
      ...props,
    });
  }

  /**
   * Lost work rescued (`EventsRescued`: events seen in the queue with no processed or
   * dead-lettered outcome after the grace period, enqueued again). Sum per hour.
   */
  metricEventsRescued(props?: MetricOptions): Metric {
    return this.metric('EventsRescued', {
      statistic: 'Sum',
      period: Duration.hours(1),
      ...props,
    });
  }

  /** One of the reconciler's metrics, per reconciler interval unless `props.period` says otherwise. */
  metric(name: EmittedMetricName, props?: MetricOptions): Metric {
    return this.integration.metric(SERVICE_NAMES.reconciler, name, {
      period: this.period,
      ...props,
    });
  }
}
