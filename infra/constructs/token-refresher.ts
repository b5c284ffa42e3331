/**
 * The token refresher part (functions/token-refresher): its function, its schedule and its
 * alarms (ARCHITECTURE.md "Token lifecycle"; docs/operations.md for what each alarm means).
 */
import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  ComparisonOperator,
  type Metric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../../shared/observability/services.ts';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import type { TallyfyFunction } from './function.ts';
import type { EmittedMetricName } from './metrics.ts';
import { accessForCalls, type TableCall } from './orgs-table.ts';

/**
 * The orgs-table calls of the refresher's code (shared/tokens, shared/orgs/leases.ts): the due
 * orgs, the lease and the fenced records on the org item, the re-read after a failed
 * condition, and the list of orgs for the `OrgsNeedingReauth` gauge of each scheduled run.
 */
export const REFRESHER_TABLE_CALLS: readonly TableCall[] = [
  'queryDue',
  'getOrg',
  'leaseAndRecord',
  'listOrgs',
];

/** Properties of {@link TokenRefresher}. */
export interface TokenRefresherProps {
  /** The integration whose table, secrets and alarm topic the refresher uses. */
  readonly integration: TallyfyIntegration;
  /** Handler module (`functions/token-refresher/index.ts`). */
  readonly entry: string;
  /** Minutes between scheduled runs. */
  readonly intervalMinutes: number;
  /** The soonest-expiry alarm fires when an active org's token has less than this left. */
  readonly soonestExpiryAlarmSeconds: number;
  /**
   * Function timeout.
   * @default Duration.minutes(2)
   */
  readonly timeout?: Duration;
  /**
   * Function memory in MiB.
   * @default 512
   */
  readonly memorySize?: number;
}

/**
 * Scheduled token refresher: reads and writes every org secret under the prefix (the only
 * function that may), reads and writes org items, runs every `intervalMinutes`, and is invoked
 * on demand (asynchronously) by the functions bound with `bindRefreshRequests`. Its reserved
 * concurrency (the integration's `reservedConcurrency`) keeps webhook bursts from starving it.
 *
 * @example
 * const refresher = new TokenRefresher(integration, 'TokenRefresher', {
 *   integration, entry, intervalMinutes: 5, soonestExpiryAlarmSeconds: 450,
 * });
 */
export class TokenRefresher extends Construct {
  /** The function. */
  readonly fn: TallyfyFunction;
  /** The EventBridge rule that runs it (a scheduled event, `source: aws.events`). */
  readonly schedule: Rule;
  /** Refreshes failing in consecutive runs. */
  readonly failuresAlarm: Alarm;
  /** No scheduled run finished in two refresher intervals: the refresher is not running. */
  readonly heartbeatAlarm: Alarm;
  /** At least one org is in `needs_reauth` (a state: holds until the last such org is fixed). */
  readonly needsReauthAlarm: Alarm;
  /** An active org's token is close to expiry without having been refreshed. */
  readonly soonestExpiryAlarm: Alarm;

  private readonly integration: TallyfyIntegration;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: TokenRefresherProps) {
    super(scope, id);
    const { integration, intervalMinutes } = props;
    this.integration = integration;
    this.period = Duration.minutes(intervalMinutes);
    this.fn = integration
      .addFunction('Function', {
        scope: this,
        part: SERVICE_NAMES.refresher,
        entry: props.entry,
        timeout: props.timeout ?? Duration.minutes(2),
        memorySize: props.memorySize,
      })
      .bindTable(integration.orgs.table, accessForCalls(REFRESHER_TABLE_CALLS))
      .bindRefresherSecrets(integration.secrets)
      .sendAsyncFailuresTo(integration.events.failedInvocations);

    this.schedule = new Rule(this, 'Schedule', {
      description: `Runs the token refresher every ${intervalMinutes} minute(s)`,
      schedule: Schedule.rate(this.period),
      targets: [new LambdaFunction(this.fn.function)],
    });

    const alarms = integration.alarms;
    this.failuresAlarm = alarms.alarm(
      this,
      'FailuresAlarm',
      this.metric('TokenRefreshFailed', { statistic: 'Sum' }),
      {
        description:
          'Token refreshes failed in 2 of the last 3 refresher intervals (docs/operations.md#token-refresh-failures).',
        threshold: 0,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      },
    );
    this.heartbeatAlarm = alarms.alarm(this, 'HeartbeatAlarm', this.metricRuns(), {
      description: `No scheduled refresher run finished in 2 intervals of ${intervalMinutes} min: the refresher is not running and tokens will expire (docs/operations.md#refresher-not-running).`,
      threshold: 1,
      comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: TreatMissingData.BREACHING,
    });
    this.needsReauthAlarm = alarms.alarm(this, 'NeedsReauthAlarm', this.metricOrgsNeedingReauth(), {
      description:
        'At least one org is needs_reauth: its credentials no longer mint tokens; clears when none is left (docs/operations.md#org-needs-reauth).',
      threshold: 0,
      // a gauge: a period without a run keeps the state (the heartbeat alarm covers that)
      treatMissingData: TreatMissingData.IGNORE,
    });
    this.soonestExpiryAlarm = alarms.alarm(
      this,
      'SoonestExpiryAlarm',
      this.metric('SoonestTokenExpiry', { statistic: 'Minimum' }),
      {
        description: `After a refresher run, a due org's token still expires in under ${props.soonestExpiryAlarmSeconds} s: it was not renewed in time (docs/operations.md#token-close-to-expiry).`,
        threshold: props.soonestExpiryAlarmSeconds,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
      },
    );
  }

  /** Scheduled runs finished (`RefreshRuns`, 1 per run): the heartbeat. Sum per interval. */
  metricRuns(props?: MetricOptions): Metric {
    return this.metric('RefreshRuns', { statistic: 'Sum', ...props });
  }

  /** Orgs in `needs_reauth` at the end of each scheduled run (a gauge). Maximum per interval. */
  metricOrgsNeedingReauth(props?: MetricOptions): Metric {
    return this.metric('OrgsNeedingReauth', { statistic: 'Maximum', ...props });
  }

  /** One of the refresher's metrics, per refresher interval unless `props.period` says otherwise. */
  metric(name: EmittedMetricName, props?: MetricOptions): Metric {
    return this.integration.metric(SERVICE_NAMES.refresher, name, {
      period: this.period,
      ...props,
    });
  }
}
