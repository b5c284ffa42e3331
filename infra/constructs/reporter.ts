/**
 * The reporter part (functions/reporter): a daily scheduled run writing CSV and JSON reports
 * under `reports/` of the reports bucket; alarms when a report of any org fails.
 */

import { Duration } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../../shared/observability/services.ts';
import { REPORTS_KEY_PREFIX } from '../../shared/reports/keys.ts';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import type { TallyfyFunction } from './function.ts';
import { perOrgSum } from './metrics.ts';
import { accessForCalls, type TableCall } from './orgs-table.ts';

/**
 * The orgs-table calls of the reporter's code (shared/reports): the active orgs (byKind), one
 * org on demand, the Scan of the worker's claims for the event figures, and its own state
 * beside each org (the periods a rate limit deferred, `STATE#reporter`), its only write.
 */
export const REPORTER_TABLE_CALLS: readonly TableCall[] = [
  'listOrgs',
  'getOrg',
  'eventFigures',
  'orgState',
];

/** Key prefix of every report object (`reports/<orgId>/<YYYY-MM-DD>/…`, `…/latest/…`). */
export { REPORTS_KEY_PREFIX } from '../../shared/reports/keys.ts';

/** Properties of {@link Reporter}. */
export interface ReporterProps {
  /** The integration whose table, bucket, secrets and alarm topic the reporter uses. */
  readonly integration: TallyfyIntegration;
  /** Handler module (`functions/reporter/index.ts`). */
  readonly entry: string;
  /** The token refresher, invoked on demand (REFRESH_REQUESTS). */
  readonly refresher: IFunction;
  /** Hour (UTC) of the daily run. */
  readonly hourUtc: number;
  /**
   * Function timeout: a run streams every org's processes and tasks.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /**
   * Function memory in MiB (aggregates are streamed: the bench keeps peak RSS under 256 MB;
   * the rest buys CPU for parsing).
   * @default 512
   */
  readonly memorySize?: number;
}

/**
 * Daily reporter: reads token secrets (never credentials), org items and the event claims,
 * writes objects under `reports/` and its deferred periods beside each org. A failed run is not retried (a retry redoes every org):
 * it goes to the failed-invocations queue.
 *
 * @example
 * new Reporter(integration, 'Reporter', { integration, entry, refresher: refresher.fn.function, hourUtc: 6 });
 */
export class Reporter extends Construct {
  /** The function. */
  readonly fn: TallyfyFunction;
  /** The EventBridge rule that runs it. */
  readonly schedule: Rule;
  /** A report of some org failed. */
  readonly failuresAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ReporterProps) {
    super(scope, id);
    const { integration } = props;
    this.fn = integration
      .addFunction('Function', {
        scope: this,
        part: SERVICE_NAMES.reporter,
        entry: props.entry,
        timeout: props.timeout ?? Duration.minutes(15),
        // measured worst case ~165 MB RSS for 100k tasks (bench `report peak rss`); 512 MB for CPU
        memorySize: props.memorySize ?? 512,
      })
      // the bench measures with this cap: V8 otherwise lets garbage build up to ~216 MB RSS
      .addEnvironment('NODE_OPTIONS', '--max-old-space-size=128')
      .bindTable(integration.orgs.table, accessForCalls(REPORTER_TABLE_CALLS))
      .bindTokenSecrets(integration.secrets)
      .bindRefreshRequests(props.refresher)
      .bindReportsBucket(integration.storage.reportsBucket, { keyPrefix: REPORTS_KEY_PREFIX })
      .sendAsyncFailuresTo(integration.events.failedInvocations, { retryAttempts: 0 });

    this.schedule = new Rule(this, 'Schedule', {
      description: `Runs the reporter daily at ${String(props.hourUtc).padStart(2, '0')}:00 UTC`,
      schedule: Schedule.cron({ minute: '0', hour: String(props.hourUtc) }),
      targets: [new LambdaFunction(this.fn.function)],
    });

    this.failuresAlarm = integration.alarms.alarm(
      this,
      'FailuresAlarm',
      perOrgSum(
        integration.metricsNamespace,
        SERVICE_NAMES.reporter,
        'ReportsFailed',
        Duration.hours(1),
        'Reports failed (all orgs)',
      ),
      {
        description:
          "A report run failed for at least one org; the other orgs' reports were written. Clears an hour later (docs/operations.md#report-failures).",
        threshold: 0,
      },
    );
  }
}
