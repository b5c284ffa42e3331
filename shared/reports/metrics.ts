import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { TallyfyMetrics } from '../observability/index.ts';
import type { OrgRunFigures, ReportMetrics } from './ports.ts';

/**
 * The reporter's metrics, each with an `orgId` dimension (orgs are tens, not thousands: one
 * CloudWatch series per org and metric is affordable and lets an alarm name the org).
 */
export const REPORT_METRICS = {
  ReportsWritten: MetricUnit.Count,
  ReportsFailed: MetricUnit.Count,
  /** Stopped for a rate limit whose Retry-After did not fit the run: resumed by the next run. */
  ReportsDeferred: MetricUnit.Count,
  ReportDuration: MetricUnit.Milliseconds,
  ReportApiCalls: MetricUnit.Count,
  ReportRetries: MetricUnit.Count,
  ReportPages: MetricUnit.Count,
} as const;

/**
 * {@link ReportMetrics} over our Powertools metrics: one EMF document per org and figure,
 * written at once (single metrics), so a timeout later in the run loses nothing already
 * measured.
 *
 * @example
 * const deps = { …, metrics: powertoolsReportMetrics(createMetrics({ namespace, serviceName: 'reporter' })) };
 */
export function powertoolsReportMetrics(metrics: TallyfyMetrics): ReportMetrics {
  const emit = (orgId: string, name: keyof typeof REPORT_METRICS, value: number) => {
    metrics
      .singleMetric()
      .addDimension('orgId', orgId)
      .addMetric(name, REPORT_METRICS[name], value);
  };
  return {
    orgFinished(figures: OrgRunFigures) {
      emit(
        figures.orgId,
        figures.ok
          ? 'ReportsWritten'
          : figures.deferred === true
            ? 'ReportsDeferred'
            : 'ReportsFailed',
        1,
      );
      emit(figures.orgId, 'ReportDuration', figures.durationMs);
      emit(figures.orgId, 'ReportApiCalls', figures.apiCalls);
      emit(figures.orgId, 'ReportRetries', figures.retries);
      emit(figures.orgId, 'ReportPages', figures.pages);
    },
  };
}
