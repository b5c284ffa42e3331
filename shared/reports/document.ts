import type { ReportFigures } from './aggregator.ts';
import { type CsvCell, toCsv } from './csv.ts';
import type { FlowBuckets } from './flow-series.ts';
import { renderReportHtml } from './report-html.ts';
import { formatInTimeZone } from './timezone.ts';
import type { EventCounts, Period, ReportOrg } from './types.ts';

/** Bumped when a column or field changes meaning. */
export const REPORT_SCHEMA_VERSION = 1;

/** How the run went: the metadata block of `report.json`. */
export interface RunFigures {
  readonly generatedAtMs: number;
  readonly pagesFetched: number;
  readonly apiCalls: number;
  readonly retries: number;
  readonly durationMs: number;
}

/** One table: its file stem (`<name>.csv`, JSON key) and rows as named columns. */
export interface ReportTable {
  readonly name: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly CsvCell[])[];
}

export interface ReportFiles {
  /** File name → body and content type. */
  readonly files: ReadonlyMap<string, { body: string; contentType: string }>;
  readonly document: ReportDocument;
}

export interface ReportDocument {
  readonly schemaVersion: number;
  readonly metadata: {
    readonly orgId: string;
    readonly orgName: string | null;
    /** The org's IANA zone when known and valid; `*Local` times are `null` otherwise. */
    readonly timezone: string | null;
    readonly period: {
      readonly since: string;
      readonly until: string;
      readonly sinceLocal: string | null;
      readonly untilLocal: string | null;
    };
    readonly generatedAt: string;
    readonly generatedAtLocal: string | null;
    readonly pagesFetched: number;
    readonly apiCalls: number;
    readonly retries: number;
    readonly durationMs: number;
  };
  readonly totals: ReportFigures['totals'];
  /** `null` when our own event figures are not available (never reported as zeros). */
  readonly eventFigures: EventCounts | null;
  /**
   * Our event flow over the period in hour (periods up to 2 days) or day buckets, from the
   * registry's hourly counters; a figure is `null` in a bucket before counting began. `null`
   * when the counters do not reach back to the period.
   */
  readonly eventFlow: ReportEventFlow | null;
  readonly tables: Readonly<Record<string, readonly Record<string, CsvCell>[]>>;
}

/** {@link ReportDocument.eventFlow}. */
export interface ReportEventFlow {
  readonly bucket: 'hour' | 'day';
  /** The first hour ever counted (`yyyy-mm-ddThh`, UTC). */
  readonly epoch: string | null;
  readonly buckets: readonly {
    /** ISO start of the bucket. */
    readonly start: string;
    readonly received: number | null;
    readonly recovered: number | null;
    readonly processed: number | null;
    readonly deadLettered: number | null;
  }[];
}

/** The buckets as `report.json` keeps them. */
export function reportEventFlow(buckets: FlowBuckets | null): ReportEventFlow | null {
  if (buckets === null) return null;
  return {
    bucket: buckets.bucket,
    epoch: buckets.epoch,
    buckets: buckets.starts.map((start, i) => ({
      start: new Date(start).toISOString(),
      received: buckets.figures.received[i] ?? null,
      recovered: buckets.figures.recovered[i] ?? null,
      processed: buckets.figures.processed[i] ?? null,
      deadLettered: buckets.figures.deadLettered[i] ?? null,
    })),
  };
}

/** The tables of a report, in file order. Column names are the JSON field names. */
export function reportTables(figures: ReportFigures, events: EventCounts | null): ReportTable[] {
  const template = ['templateId', 'templateTitle'];
  const overdue = ['overdueTasks', 'maxOverdueHours', 'meanOverdueHours'];
  return [
    {
      name: 'open-processes-by-template',
      columns: [...template, 'openProcesses'],
      rows: figures.openProcessesByTemplate.map((r) => [
        r.templateId,
        r.templateTitle,
        r.openProcesses,
      ]),
    },
    {
      name: 'processes-per-day',
      columns: ['day', 'launched', 'completed'],
      rows: figures.processesPerDay.map((r) => [r.day, r.launched, r.completed]),
    },
    {
      name: 'cycle-time-by-template',
      columns: [...template, 'completedProcesses', 'medianHours', 'p90Hours'],
      rows: figures.cycleTimeByTemplate.map((r) => [
        r.templateId,
        r.templateTitle,
        r.completedProcesses,
        r.medianHours,
        r.p90Hours,
      ]),
    },
    {
      name: 'tasks-completed-by-assignee',
      columns: ['assigneeId', 'tasksCompleted'],
      rows: figures.tasksCompletedByAssignee.map((r) => [r.assigneeId, r.tasksCompleted]),
    },
    {
      name: 'overdue-by-assignee',
      columns: ['assigneeId', ...overdue],
      rows: figures.overdueByAssignee.map((r) => [
        r.assigneeId,
        r.overdueTasks,
        r.maxOverdueHours,
        r.meanOverdueHours,
      ]),
    },
    {
      name: 'overdue-by-template',
      columns: [...template, ...overdue],
      rows: figures.overdueByTemplate.map((r) => [
        r.templateId,
        r.templateTitle,
        r.overdueTasks,
        r.maxOverdueHours,
        r.meanOverdueHours,
      ]),
    },
    {
      name: 'due-next-7-days',
      columns: ['day', 'tasks'],
      rows: figures.dueNext7Days.map((r) => [r.day, r.tasks]),
    },
    {
      name: 'event-figures',
      columns: ['available', 'received', 'recovered', 'deadLettered'],
      rows: [
        events === null
          ? [false, null, null, null]
          : [true, events.received, events.recovered, events.deadLettered],
      ],
    },
  ];
}

/**
 * Every file of one org's report: a CSV per table, `report.html` (the charts, one
 * self-contained page) and `report.json` holding all tables and the run's metadata. Times are
 * ISO 8601 UTC, plus the org's local time when its zone is known.
 */
export function renderReport(input: {
  org: ReportOrg;
  timezone: string | null;
  period: Period;
  figures: ReportFigures;
  events: EventCounts | null;
  /** Our event flow over the period. @default null (not available) */
  flow?: FlowBuckets | null;
  run: RunFigures;
}): ReportFiles {
  const { org, timezone, period, figures, events, run } = input;
  const local = (ms: number): string | null =>
    timezone === null ? null : formatInTimeZone(ms, timezone);
  const tables = reportTables(figures, events);
  const document: ReportDocument = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    metadata: {
      orgId: org.orgId,
      orgName: org.name ?? null,
      timezone,
      period: {
        since: iso(period.sinceMs),
        until: iso(period.untilMs),
        sinceLocal: local(period.sinceMs),
        untilLocal: local(period.untilMs),
      },
      generatedAt: iso(run.generatedAtMs),
      generatedAtLocal: local(run.generatedAtMs),
      pagesFetched: run.pagesFetched,
      apiCalls: run.apiCalls,
      retries: run.retries,
      durationMs: run.durationMs,
    },
    totals: figures.totals,
    eventFigures: events,
    eventFlow: reportEventFlow(input.flow ?? null),
    tables: Object.fromEntries(
      tables.map((t) => [
        t.name,
        t.rows.map((row) => Object.fromEntries(t.columns.map((c, i) => [c, row[i] ?? null]))),
      ]),
    ),
  };
  const files = new Map<string, { body: string; contentType: string }>();
  for (const t of tables) {
    files.set(`${t.name}.csv`, {
      body: toCsv(t.columns, t.rows),
      contentType: 'text/csv; charset=utf-8',
    });
  }
  files.set('report.html', {
    body: renderReportHtml(document),
    contentType: 'text/html; charset=utf-8',
  });
  files.set('report.json', {
    body: `${JSON.stringify(document, null, 2)}\n`,
    contentType: 'application/json',
  });
  return { files, document };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
