/**
 * The CloudWatch metrics our functions emit (Powertools EMF, namespace `TallyfyServerless`,
 * dimension `service` = the part's name), as CDK metrics for alarms and the dashboard. Names
 * are typed against the catalogues the code records with (`METRICS`, `REPORT_METRICS`), so a
 * rename there breaks the type check here instead of silencing an alarm.
 */
import type { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import type { MetricName } from '../../shared/observability/metrics.ts';
import type { REPORT_METRICS } from '../../shared/reports/metrics.ts';
import type { TallyfyPart } from './parts.ts';

/** The namespace every function writes its metrics to (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'TallyfyServerless';

/** A metric name some function emits. */
export type EmittedMetricName = MetricName | keyof typeof REPORT_METRICS;

/** Options of {@link partMetric}. */
export interface PartMetricOptions {
  /** CloudWatch statistic, such as `Sum`, `Maximum`, `Minimum`, `p99`. */
  readonly statistic: string;
  /** Aggregation period. */
  readonly period: Duration;
  /** Graph / alarm label. @default - the metric name */
  readonly label?: string;
}

/**
 * One metric of one part, as emitted with the default `service` dimension only.
 *
 * @example
 * partMetric('token-refresher', 'TokenRefreshFailed', { statistic: 'Sum', period: Duration.minutes(5) });
 */
export function partMetric(
  part: TallyfyPart,
  name: EmittedMetricName,
  options: PartMetricOptions,
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: part },
    statistic: options.statistic,
    period: options.period,
    label: options.label,
  });
}

/**
 * The sum over every org of a metric emitted with an extra `orgId` dimension (the reporter's),
 * as a CloudWatch Metrics Insights query: an alarm on it needs no list of orgs at deploy time.
 *
 * @example
 * perOrgSum('reporter', 'ReportsFailed', Duration.hours(1));
 */
export function perOrgSum(
  part: TallyfyPart,
  name: EmittedMetricName,
  period: Duration,
  label?: string,
): MathExpression {
  return new MathExpression({
    expression: `SELECT SUM(${name}) FROM SCHEMA("${METRICS_NAMESPACE}", orgId, service) WHERE service = '${part}'`,
    usingMetrics: {},
    period,
    label: label ?? name,
  });
}
