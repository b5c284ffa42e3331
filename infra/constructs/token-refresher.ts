/**
 * The token refresher part (functions/token-refresher): its function, its schedule and its
 * alarms (ARCHITECTURE.md "Token lifecycle"; docs/operations.md for what each alarm means).
 */
import { Duration } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import type { TallyfyFunction } from './function.ts';
import { partMetric } from './metrics.ts';

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
 * function that may), reads and writes the orgs table, runs every `intervalMinutes`, and is
 * invoked on demand by the functions bound with `bindRefreshRequests`.
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
  /** At least one org needs new credentials. */
  readonly needsReauthAlarm: Alarm;
  /** An active org's token is close to expiry without having been refreshed. */
  readonly soonestExpiryAlarm: Alarm;

  constructor(scope: Construct, id: string, props: TokenRefresherProps) {
    super(scope, id);
    const { integration, intervalMinutes } = props;
    this.fn = integration
      .addFunction('Function', {
        scope: this,
        part: 'token-refresher',
        entry: props.entry,
        timeout: props.timeout ?? Duration.minutes(2),
        memorySize: props.memorySize,
      })
      .bindTable(integration.orgs.table)
      .bindRefresherSecrets(integration.secrets);

    this.schedule = new Rule(this, 'Schedule', {
      description: `Runs the token refresher every ${intervalMinutes} minute(s)`,
      schedule: Schedule.rate(Duration.minutes(intervalMinutes)),
      targets: [new LambdaFunction(this.fn.function)],
    });

    const period = Duration.minutes(intervalMinutes);
    const alarms = integration.alarms;
    this.failuresAlarm = alarms.alarm(
      this,
      'FailuresAlarm',
      partMetric('token-refresher', 'TokenRefreshFailed', { statistic: 'Sum', period }),
      {
        description:
          'Token refreshes failed in 2 of the last 3 refresher runs (docs/operations.md#token-refresh-failures).',
        threshold: 0,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      },
    );
    this.needsReauthAlarm = alarms.alarm(
      this,
      'NeedsReauthAlarm',
      partMetric('token-refresher', 'OrgsNeedingReauth', { statistic: 'Maximum', period }),
      {
        description:
          'At least one org is needs_reauth: its credentials no longer mint tokens (docs/operations.md#org-needs-reauth).',
        threshold: 0,
      },
    );
    this.soonestExpiryAlarm = alarms.alarm(
      this,
      'SoonestExpiryAlarm',
      partMetric('token-refresher', 'SoonestTokenExpiry', { statistic: 'Minimum', period }),
      {
        description: `After a refresher run, a due org's token still expires in under ${props.soonestExpiryAlarmSeconds} s: it was not renewed in time (docs/operations.md#token-close-to-expiry).`,
        threshold: props.soonestExpiryAlarmSeconds,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
      },
    );
  }
}
