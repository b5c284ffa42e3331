/**
 * Scheduled per-org reporting: streams Tallyfy processes and tasks page by page, aggregates
 * while streaming, writes CSV tables and one JSON document per org and period. See
 * docs/reports.md.
 */
export {
  DUE_SOON_MS,
  hours,
  type OverdueFigures,
  ReportAggregator,
  type ReportFigures,
  type TemplateRef,
} from './aggregator.ts';
export {
  CHART_CSS,
  type ChartSeries,
  type ChartSpec,
  escapeHtml,
  niceTicks,
  renderChart,
  renderTimeline,
  type TimelinePoint,
  type TimelineSpec,
} from './charts.ts';
export { type CsvCell, toCsv } from './csv.ts';
export {
  REPORT_SCHEMA_VERSION,
  type ReportDocument,
  type ReportEventFlow,
  type ReportFiles,
  type ReportTable,
  type RunFigures,
  renderReport,
  reportTables,
} from './document.ts';
export {
  REPORTS_ERROR_CODES,
  REPORTS_UNEXPECTED,
  ReportError,
  type ReportErrorCode,
  ReportInputError,
  ReportOrgNotFoundError,
  ReportSinkError,
} from './errors.ts';
export {
  type DynamoEventFiguresOptions,
  dynamoEventFigures,
  type EventScanCost,
  eventFlowOf,
} from './event-figures.ts';
export {
  bucketLabel,
  FLOW_LABELS,
  type FlowBuckets,
  flowBuckets,
  flowChart,
} from './flow-series.ts';
export {
  type OrgReportResult,
  type ReportBudget,
  type ReportDeps,
  type ReportRequest,
  type ReportRunResult,
  reportOrg,
  runReports,
} from './generate.ts';
export {
  MAX_PERIOD_DAYS,
  type OnDemandRequest,
  OnDemandRequestSchema,
  parseReportEvent,
  type ReportEventDefaults,
  ScheduledEventSchema,
} from './input.ts';
export { datedPrefix, latestPrefix, REPORTS_KEY_PREFIX } from './keys.ts';
export { powertoolsReportMetrics, REPORT_METRICS } from './metrics.ts';
export { DAY_MS, periodKeyDay, scheduledPeriod, startOfUtcDay, utcDay } from './period.ts';
export type {
  EventFigures,
  FetchOptions,
  OrgLister,
  OrgRunFigures,
  PendingPeriod,
  PendingReports,
  ReportLog,
  ReportMetrics,
  ReportSink,
  ReportSource,
  TaskQuery,
} from './ports.ts';
export { quantileOfSorted } from './quantile.ts';
export { registryOrgLister, registryPendingReports } from './registry-orgs.ts';
export { reportCharts, TOP_ROWS } from './report-charts.ts';
export { renderReportCharts, renderReportHtml } from './report-html.ts';
export { fileReportSink } from './sinks/file-sink.ts';
export { s3ReportSink } from './sinks/s3-sink.ts';
export {
  type TallyfyDateParser,
  type TallyfyRun,
  TallyfyRunSchema,
  type TallyfyTask,
  TallyfyTaskSchema,
  toReportProcess,
  toReportTask,
} from './tallyfy-mapping.ts';
export {
  type TallyfyListPage,
  type TallyfyLists,
  type TallyfyPagesClient,
  type TallyfyReportSourceOptions,
  tallyfyClientLists,
  tallyfyReportSource,
} from './tallyfy-source.ts';
export { formatInTimeZone, isValidTimeZone } from './timezone.ts';
export type {
  EventCounts,
  Page,
  Period,
  ProcessPage,
  ReportOrg,
  ReportProcess,
  ReportTask,
  TaskPage,
} from './types.ts';
