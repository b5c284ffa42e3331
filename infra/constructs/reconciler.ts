/**
 * The reconciler part (functions/reconciler): on a schedule, finds the events Tallyfy never
 * delivered and enqueues them; alarms when it recovers more than a threshold.
 */
import { Duration } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import type { TallyfyFunction } from './function.ts';
import { partMetric } from './metrics.ts';

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
 * Scheduled reconciler: reads token secrets (never credentials), reads and writes the table
 * (watermarks), sends recovered events to the events queue.
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
  /** More events recovered than the threshold: webhooks are being lost. */
  readonly recoveriesAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const { integration, intervalMinutes } = props;
    const threshold = props.recoveredEventsPerHourThreshold;
    if (!Number.isInteger(threshold) || threshold < 0) {
      throw new Error(
        `Reconciler: recoveredEventsPerHourThreshold must be a whole number >= 0, got ${threshold}`,
      );
    }
    this.fn = integration
      .addFunction('Function', {
        scope: this,
        part: 'reconciler',
        entry: props.entry,
        timeout: props.timeout ?? Duration.minutes(5),
        memorySize: props.memorySize,
      })
      .bindTable(integration.orgs.table)
      .bindTokenSecrets(integration.secrets)
      .bindRefreshRequests(props.refresher)
      .bindEventsQueue(integration.events.queue);

    this.schedule = new Rule(this, 'Schedule', {
      description: `Runs the reconciler every ${intervalMinutes} minute(s)`,
      schedule: Schedule.rate(Duration.minutes(intervalMinutes)),
      targets: [new LambdaFunction(this.fn.function)],
    });

    this.recoveriesAlarm = integration.alarms.alarm(
      this,
      'RecoveriesAlarm',
      partMetric('reconciler', 'EventsReconciled', { statistic: 'Sum', period: Duration.hours(1) }),
      {
        description: `The reconciler recovered more than ${threshold} events in an hour: webhooks are not reaching the receiver (docs/operations.md#reconciler-recoveries).`,
        threshold,
      },
    );
  }
}
