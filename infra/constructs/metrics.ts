/**
 * The CloudWatch metrics our functions emit (Powertools EMF, dimension `service` = the
 * function's service name), as CDK metrics for alarms and the dashboard. Names are typed against
 * the catalogues the code records with (`METRICS`, `REPORT_METRICS`), and service names come from
 * `SERVICE_NAMES`, so a rename there breaks the type check here instead of silencing an alarm.
 *
 * The namespace is the deployment's (POWERTOOLS_METRICS_NAMESPACE, set on every function by the
 * integration): two deployments in one account and region never add up each other's figures.
 */
import { type Duration, Stack, Token } from 'aws-cdk-lib';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import type { IConstruct } from 'constructs';
import { SECTIONS } from '../../shared/config/sections.ts';
import type { MetricName } from '../../shared/observability/metrics.ts';
import type { ServiceName } from '../../shared/observability/services.ts';
import type { REPORT_METRICS } from '../../shared/reports/metrics.ts';

/** First part of every deployment's default namespace: `TallyfyServerless/<stack name>`. */
export const METRICS_NAMESPACE_PREFIX = 'TallyfyServerless';

/** A metric name some function emits. */
export type EmittedMetricName = MetricName | keyof typeof REPORT_METRICS;

/** Options of {@link partMetric}. */
export interface PartMetricOptions {
  /** CloudWatch namespace of the deployment (its functions' POWERTOOLS_METRICS_NAMESPACE). */
  readonly namespace: string;
  /** CloudWatch statistic, such as `Sum`, `Maximum`, `Minimum`, `p99`. */
  readonly statistic: string;
  /** Aggregation period. */
  readonly period: Duration;
  /**
   * Graph / alarm label.
   * @default - the metric name
   */
  readonly label?: string;
}

/**
 * The namespace a deployment's functions write to unless told otherwise:
 * `TallyfyServerless/<stack name>`, so each stack has its own.
 *
 * @example
 * defaultMetricsNamespace(stack); // 'TallyfyServerless/TallyfyProd'
 */
export function defaultMetricsNamespace(scope: IConstruct): string {
  const { stackName } = Stack.of(scope);
  if (Token.isUnresolved(stackName)) {
    throw new Error(
      'metricsNamespace must be given when the stack name is only known at deploy time (a token)',
    );
  }
  return `${METRICS_NAMESPACE_PREFIX}/${stackName}`;
}

/**
 * Checks a namespace against the rule the functions' config applies to
 * POWERTOOLS_METRICS_NAMESPACE (one definition: `shared/config/sections.ts`).
 *
 * @throws Error naming `prop` when the functions would refuse the namespace at start
 */
export function validateMetricsNamespace(prop: string, namespace: string): string {
  const variable = SECTIONS.log.metricsNamespace;
  if (!variable.schema.safeParse(namespace).success) {
    throw new Error(`${prop} must be ${variable.expected}, got "${namespace}"`);
  }
  return namespace;
}

/**
 * One metric of one service, as emitted with the default `service` dimension only.
 *
 * @example
 * partMetric('token-refresher', 'TokenRefreshFailed', {
 *   namespace: 'TallyfyServerless/Prod', statistic: 'Sum', period: Duration.minutes(5),
 * });
 */
export function partMetric(
  service: ServiceName,
  name: EmittedMetricName,
  options: PartMetricOptions,
): Metric {
  return new Metric({
    namespace: options.namespace,
    metricName: name,
    dimensionsMap: { service },
    statistic: options.statistic,
    period: options.period,
    label: options.label,
  });
}

/**
 * The sum over every org of a metric emitted with an extra `orgId` dimension (the reporter's),
 * as a CloudWatch Metrics Insights query: an alarm on it needs no list of orgs at deploy time.
 * (Metrics Insights alarms look back 3 hours at most.)
 *
 * @example
 * perOrgSum('TallyfyServerless/Prod', 'reporter', 'ReportsFailed', Duration.hours(1));
 */
export function perOrgSum(
  namespace: string,
  service: ServiceName,
  name: EmittedMetricName,
  period: Duration,
  label?: string,
): MathExpression {
  return new MathExpression({
    expression: `SELECT SUM(${name}) FROM SCHEMA("${namespace}", orgId, service) WHERE service = '${service}'`,
    usingMetrics: {},
    period,
    label: label ?? name,
  });
}
