/**
 * One CloudWatch dashboard with the key figures of each part, top to bottom in the order an
 * event travels: webhooks, queue, worker, tokens, reconciler, reports, plus the state of every
 * alarm of the integration, including alarms added after the dashboard was built.
 */
import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  ConcreteWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { SERVICE_NAMES, type ServiceName } from '../../shared/observability/services.ts';
import type { TallyfyIntegration } from '../tallyfy-integration.ts';
import { type EmittedMetricName, perOrgSum } from './metrics.ts';

/** Properties of {@link TallyfyDashboard}. */
export interface TallyfyDashboardProps {
  /** The integration whose parts the dashboard shows. */
  readonly integration: TallyfyIntegration;
  /**
   * The alarms shown in the status grid. Read when the app is synthesized, so alarms pushed to
   * this list later (such as by `addFunction`) are shown too.
   */
  readonly alarms: readonly Alarm[];
  /**
   * Dashboard name.
   * @default - generated
   */
  readonly dashboardName?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
const HOUR = Duration.hours(1);
const WIDTH = 24;

/**
 * An alarm status grid over a list read at synthesis (CDK's widget copies its list when
 * built), so the dashboard never misses an alarm added after construction.
 */
class LiveAlarmStatusWidget extends ConcreteWidget {
  constructor(
    private readonly title: string,
    private readonly alarms: readonly Alarm[],
  ) {
    super(WIDTH, 3);
  }

  toJson(): unknown[] {
    const inner =
      this.alarms.length === 0
        ? new TextWidget({ markdown: `**${this.title}**: none`, width: this.width, height: 1 })
        : new AlarmStatusWidget({
            title: this.title,
            alarms: [...this.alarms],
            width: this.width,
            height: this.height,
          });
    inner.position(this.x ?? 0, this.y ?? 0);
    return inner.toJson();
  }
}

/**
 * The dashboard.
 *
 * @example
 * new TallyfyDashboard(this, 'Dashboard', { integration, alarms: integration.alarmList });
 */
export class TallyfyDashboard extends Construct {
  /** The dashboard. */
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: TallyfyDashboardProps) {
    super(scope, id);
    const { integration } = props;
    const { events, refresher, receiver, worker, reconciler, reporter } = integration;
    const namespace = integration.metricsNamespace;
    const sum = (service: ServiceName, name: EmittedMetricName, label?: string) =>
      integration.metric(service, name, { statistic: 'Sum', period: FIVE_MINUTES, label });
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 6, height: 6 });
    const single = (title: string, metrics: IMetric[]) =>
      new SingleValueWidget({ title, metrics, width: 6, height: 6 });
    const heading = (markdown: string) => new TextWidget({ markdown, width: WIDTH, height: 1 });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(new LiveAlarmStatusWidget('Alarms', props.alarms));

    this.dashboard.addWidgets(heading('### Webhooks (receiver)'));
    this.dashboard.addWidgets(
      graph('API requests and errors', [
        receiver.api.metricCount({ period: FIVE_MINUTES, label: 'requests' }),
        receiver.api.metricClientError({ period: FIVE_MINUTES, label: '4xx' }),
        receiver.api.metricServerError({ period: FIVE_MINUTES, label: '5xx' }),
        receiver.metricThrottled({ label: '429 throttled (lost)' }),
      ]),
      graph('Accepted / rejected', [
        sum(SERVICE_NAMES.receiver, 'WebhookAccepted', 'accepted'),
        sum(SERVICE_NAMES.receiver, 'WebhookRejected', 'rejected'),
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
        receiver.fn.function.metric('ConcurrentExecutions', {
          period: FIVE_MINUTES,
          statistic: 'Maximum',
          label: 'concurrency',
        }),
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
      single('Dead letters', [integration.metricDeadLetters({ label: 'in DLQ' })]),
      graph('Events processed', [
        sum(SERVICE_NAMES.worker, 'EventsProcessed', 'processed'),
        sum(SERVICE_NAMES.worker, 'EventsDuplicate', 'duplicates'),
        sum(SERVICE_NAMES.worker, 'EventsRetried', 'retried'),
        sum(SERVICE_NAMES.worker, 'EventsDeferred', 'deferred (Retry-After)'),
        sum(SERVICE_NAMES.worker, 'EventsDeadLettered', 'dead-lettered'),
        sum(SERVICE_NAMES.worker, 'ActionsSucceeded', 'actions ok'),
        sum(SERVICE_NAMES.worker, 'ActionsFailed', 'actions failed'),
        sum(SERVICE_NAMES.worker, 'ActionsInDoubt', 'actions in doubt'),
      ]),
      graph(
        'Worker function',
        [
          worker.fn.function.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
          worker.fn.function.metricThrottles({ period: FIVE_MINUTES, label: 'throttles' }),
          worker.fn.function.metric('ConcurrentExecutions', {
            period: FIVE_MINUTES,
            statistic: 'Maximum',
            label: 'concurrency',
          }),
          sum(SERVICE_NAMES.worker, 'RefreshRequestsSent', 'refresh requests'),
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
        refresher.metric('OrgsDue', { statistic: 'Sum', label: 'due' }),
        refresher.metric('TokenRefreshSucceeded', { statistic: 'Sum', label: 'refreshed' }),
        refresher.metric('TokenRefreshFailed', { statistic: 'Sum', label: 'failed' }),
        refresher.metric('LeaseContended', { statistic: 'Sum', label: 'lease contended' }),
        refresher.metricRuns({ label: 'scheduled runs (heartbeat)' }),
      ]),
      single('Orgs needing re-auth', [
        integration.metricOrgsNeedingReauth({ period: HOUR, label: 'needs_reauth' }),
      ]),
      graph('Soonest token expiry (s)', [
        refresher.metric('SoonestTokenExpiry', { statistic: 'Minimum', label: 'soonest expiry' }),
      ]),
      graph('Refresher function', [
        refresher.fn.function.metricErrors({ period: FIVE_MINUTES, label: 'errors' }),
        refresher.fn.function.metricInvocations({ period: FIVE_MINUTES, label: 'invocations' }),
        refresher.fn.function.metricThrottles({ period: FIVE_MINUTES, label: 'throttles' }),
      ]),
    );

    this.dashboard.addWidgets(heading('### Reconciler, reports, failed invocations'));
    this.dashboard.addWidgets(
      graph('Reconciler (per hour)', [
        integration.metricEventsRecovered({ label: 'lost webhooks recovered' }),
        reconciler.metricEventsRescued({ label: 'lost work rescued' }),
        reconciler.metric('EventsReconciled', {
          statistic: 'Sum',
          period: HOUR,
          label: 'events listed',
        }),
        reconciler.metric('ReconcileFailures', {
          statistic: 'Sum',
          period: HOUR,
          label: 'org failures',
        }),
        reconciler.fn.function.metricErrors({ period: HOUR, label: 'errors' }),
      ]),
      graph('Reports', [
        perOrgSum(namespace, SERVICE_NAMES.reporter, 'ReportsWritten', HOUR, 'written'),
        perOrgSum(namespace, SERVICE_NAMES.reporter, 'ReportsFailed', HOUR, 'failed'),
        reporter.fn.function.metricErrors({ period: HOUR, label: 'errors' }),
      ]),
      single('Failed asynchronous invocations', [
        integration.metricFailedInvocations({ label: 'waiting' }),
      ]),
    );
  }
}
