/**
 * One CloudWatch dashboard with the key figures of each part, top to bottom in the order an
 * event travels: webhooks, queue, worker, tokens, reconciler, reports, Tallyfy API, plus the
 * state of every alarm.
 */
import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { EventWorker } from './event-worker.ts';
import type { EventsPipeline } from './events.ts';
import { type EmittedMetricName, METRICS_NAMESPACE, partMetric, perOrgSum } from './metrics.ts';
import type { TallyfyPart } from './parts.ts';
import type { Reconciler } from './reconciler.ts';
import type { Reporter } from './reporter.ts';
import type { TokenRefresher } from './token-refresher.ts';
import type { WebhookReceiver } from './webhook-receiver.ts';

/** Properties of {@link TallyfyDashboard}. */
export interface TallyfyDashboardProps {
  readonly events: EventsPipeline;
  readonly refresher: TokenRefresher;
  readonly receiver: WebhookReceiver;
  readonly worker: EventWorker;
  readonly reconciler: Reconciler;
  readonly reporter: Reporter;
  /** Every alarm of the integration, shown as one status grid. */
  readonly alarms: readonly Alarm[];
  /**
   * Dashboard name.
   * @default - generated
   */
  readonly dashboardName?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
const WIDTH = 24;

/**
 * The dashboard.
 *
 * @example
 * new TallyfyDashboard(this, 'Dashboard', { events, refresher, receiver, worker, reconciler, reporter, alarms });
 */
export class TallyfyDashboard extends Construct {
  /** The dashboard. */
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: TallyfyDashboardProps) {
    super(scope, id);
    const { events, refresher, receiver, worker, reconciler, reporter } = props;
    const sum = (part: TallyfyPart, name: EmittedMetricName, label?: string) =>
      partMetric(part, name, { statistic: 'Sum', period: FIVE_MINUTES, label });
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 6, height: 6 });
    const heading = (markdown: string) => new TextWidget({ markdown, width: WIDTH, height: 1 });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({
        title: 'Alarms',
        alarms: [...props.alarms],
        width: WIDTH,
        height: 3,
      }),
    );

    this.dashboard.addWidgets(heading('### Webhooks (receiver)'));
    this.dashboard.addWidgets(
      graph('API requests and errors', [
        receiver.api.metricCount({ period: FIVE_MINUTES, label: 'requests' }),
        receiver.api.metricClientError({ period: FIVE_MINUTES, label: '4xx' }),
        receiver.api.metricServerError({ period: FIVE_MINUTES, label: '5xx' }),
      ]),
      graph('Accepted / rejected', [
        sum('webhook-receiver', 'WebhookAccepted', 'accepted'),
        sum('webhook-receiver', 'WebhookRejected', 'rejected'),
      ]),
      graph('API latency (p99, ms)', [
        receiver.api.metricLatency({ period: FIVE_MINUTES, statistic: 'p99', label: 'p99' }),
        receiver.fn.function.metricDuration({
          period: FIVE_MINUTES,
          statistic: 'p99',
          label: 'function p99',
        }),
      ]),
      graph('Receiver function', [
        receiver.fn.function.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
        receiver.fn.function.metricThrottles({ period: FIVE_MINUTES, label: 'throttles' }),
      ]),
    );

    this.dashboard.addWidgets(heading('### Queue and worker'));
    this.dashboard.addWidgets(
      graph(
        'Events queue',
        [
          events.queue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            label: 'visible',
          }),
        ],
        [
          events.queue.metricApproximateAgeOfOldestMessage({
            period: FIVE_MINUTES,
            label: 'oldest (s)',
          }),
        ],
      ),
      new SingleValueWidget({
        title: 'Dead letters',
        metrics: [
          events.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            statistic: 'Maximum',
            label: 'in DLQ',
          }),
        ],
        width: 6,
        height: 6,
      }),
      graph('Events processed', [
        sum('event-worker', 'EventsProcessed', 'processed'),
        sum('event-worker', 'EventsDuplicate', 'duplicates'),
        sum('event-worker', 'ActionsSucceeded', 'actions ok'),
        sum('event-worker', 'ActionsFailed', 'actions failed'),
      ]),
      graph(
        'Worker function',
        [
          worker.fn.function.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
          worker.fn.function.metricThrottles({ period: FIVE_MINUTES, label: 'throttles' }),
          sum('event-worker', 'RefreshRequestsSent', 'refresh requests'),
        ],
        [
          worker.fn.function.metricDuration({
            period: FIVE_MINUTES,
            statistic: 'p99',
            label: 'p99 ms',
          }),
        ],
      ),
    );

    this.dashboard.addWidgets(heading('### Tokens (refresher)'));
    this.dashboard.addWidgets(
      graph('Refreshes', [
        sum('token-refresher', 'OrgsDue', 'due'),
        sum('token-refresher', 'TokenRefreshSucceeded', 'refreshed'),
        sum('token-refresher', 'TokenRefreshFailed', 'failed'),
        sum('token-refresher', 'LeaseContended', 'lease contended'),
      ]),
      new SingleValueWidget({
        title: 'Orgs needing re-auth',
        metrics: [
          partMetric('token-refresher', 'OrgsNeedingReauth', {
            statistic: 'Maximum',
            period: Duration.hours(1),
            label: 'needs_reauth',
          }),
        ],
        width: 6,
        height: 6,
      }),
      graph('Soonest token expiry (s)', [
        partMetric('token-refresher', 'SoonestTokenExpiry', {
          statistic: 'Minimum',
          period: FIVE_MINUTES,
          label: 'soonest expiry',
        }),
      ]),
      graph('Refresher function', [
        refresher.fn.function.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
        refresher.fn.function.metricInvocations({ period: FIVE_MINUTES, label: 'invocations' }),
      ]),
    );

    this.dashboard.addWidgets(heading('### Reconciler, reports, Tallyfy API'));
    this.dashboard.addWidgets(
      graph('Events recovered by the reconciler', [
        partMetric('reconciler', 'EventsReconciled', {
          statistic: 'Sum',
          period: Duration.hours(1),
          label: 'recovered / h',
        }),
        reconciler.fn.function.metricErrors({ period: Duration.hours(1), label: 'errors' }),
      ]),
      graph('Reports', [
        perOrgSum('reporter', 'ReportsWritten', Duration.hours(1), 'written'),
        perOrgSum('reporter', 'ReportsFailed', Duration.hours(1), 'failed'),
        reporter.fn.function.metricErrors({ period: Duration.hours(1), label: 'errors' }),
      ]),
      graph('Tallyfy API calls by part', [
        new MathExpression({
          expression: `SELECT SUM(TallyfyRequests) FROM SCHEMA("${METRICS_NAMESPACE}", service) GROUP BY service`,
          usingMetrics: {},
          period: FIVE_MINUTES,
          label: 'requests',
        }),
      ]),
      graph('Tallyfy throttling (429)', [
        new MathExpression({
          expression: `SELECT SUM(TallyfyThrottled) FROM SCHEMA("${METRICS_NAMESPACE}", service) GROUP BY service`,
          usingMetrics: {},
          period: FIVE_MINUTES,
          label: 'throttled',
        }),
      ]),
    );
  }
}
