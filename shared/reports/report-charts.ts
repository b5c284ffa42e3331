/**
 * The charts of a report, from its `report.json` document: what `report.html` draws and what
 * the console draws for the same report (one function, so both always show the same charts).
 */
import type { ChartSpec } from './charts.ts';
import type { ReportDocument } from './document.ts';
import { FLOW_COLORS, FLOW_LABELS, flowNote } from './flow-series.ts';

/** Named categories shown per chart; the rest are in the CSV (and said so under the chart). */
export const TOP_ROWS = 20;

type Row = Readonly<Record<string, unknown>>;

const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

const templateLabel = (row: Row): string =>
  typeof row.templateTitle === 'string' && row.templateTitle !== ''
    ? row.templateTitle
    : typeof row.templateId === 'string' && row.templateId !== ''
      ? row.templateId
      : '(no template)';

function top(rows: readonly Row[], by: string): { rows: Row[]; more: number } {
  const sorted = [...rows].sort((a, b) => (num(b[by]) ?? 0) - (num(a[by]) ?? 0));
  return { rows: sorted.slice(0, TOP_ROWS), more: Math.max(0, sorted.length - TOP_ROWS) };
}

const moreNote = (more: number, file: string): string | undefined =>
  more === 0 ? undefined : `${more} more in ${file}.`;

/**
 * The report's charts: processes launched and completed per day; cycle time per template
 * (median and p90); overdue tasks per template and per assignee; our event flow (received,
 * recovered, dead-lettered) over the period.
 *
 * @example reportCharts(JSON.parse(reportJson)).map(renderChart).join('')
 */
export function reportCharts(document: ReportDocument): ChartSpec[] {
  const tables = document.tables;
  const perDay = (tables['processes-per-day'] ?? []) as readonly Row[];
  const cycle = top(
    (tables['cycle-time-by-template'] ?? []) as readonly Row[],
    'completedProcesses',
  );
  const overdueTemplate = top(
    (tables['overdue-by-template'] ?? []) as readonly Row[],
    'overdueTasks',
  );
  const overdueAssignee = top(
    (tables['overdue-by-assignee'] ?? []) as readonly Row[],
    'overdueTasks',
  );
  const charts: ChartSpec[] = [
    {
      id: 'processes-per-day',
      title: 'Processes launched and completed per day',
      kind: 'columns',
      categories: perDay.map((row) => String(row.day ?? '').slice(5)),
      series: [
        { name: 'launched', label: 'Launched', values: perDay.map((row) => num(row.launched)) },
        { name: 'completed', label: 'Completed', values: perDay.map((row) => num(row.completed)) },
      ],
      unit: 'processes',
      note: 'UTC days of the period.',
    },
    {
      id: 'cycle-time-by-template',
      title: 'Cycle time per template (processes completed in the period)',
      kind: 'rows',
      categories: cycle.rows.map(templateLabel),
      series: [
        { name: 'median', label: 'Median', values: cycle.rows.map((row) => num(row.medianHours)) },
        { name: 'p90', label: 'p90', values: cycle.rows.map((row) => num(row.p90Hours)) },
      ],
      unit: 'hours',
      ...withNote(moreNote(cycle.more, 'cycle-time-by-template.csv')),
    },
    {
      id: 'overdue-by-template',
      title: 'Overdue tasks per template (now)',
      kind: 'rows',
      categories: overdueTemplate.rows.map(templateLabel),
      series: [
        {
          name: 'overdue',
          label: 'Overdue tasks',
          values: overdueTemplate.rows.map((row) => num(row.overdueTasks)),
        },
      ],
      unit: 'tasks',
      ...withNote(moreNote(overdueTemplate.more, 'overdue-by-template.csv')),
    },
    {
      id: 'overdue-by-assignee',
      title: 'Overdue tasks per assignee (now)',
      kind: 'rows',
      categories: overdueAssignee.rows.map((row) =>
        typeof row.assigneeId === 'string' && row.assigneeId !== ''
          ? row.assigneeId
          : '(no assignee)',
      ),
      series: [
        {
          name: 'overdue',
          label: 'Overdue tasks',
          values: overdueAssignee.rows.map((row) => num(row.overdueTasks)),
        },
      ],
      unit: 'tasks',
      ...withNote(moreNote(overdueAssignee.more, 'overdue-by-assignee.csv')),
    },
  ];
  const flow = document.eventFlow;
  const figures = ['received', 'recovered', 'deadLettered'] as const;
  charts.push({
    id: 'event-flow',
    title: `Event flow per ${flow?.bucket ?? 'day'} (our own records)`,
    kind: 'columns',
    categories: (flow?.buckets ?? []).map((b) =>
      flow?.bucket === 'hour' ? `${b.start.slice(11, 13)}:00` : b.start.slice(5, 10),
    ),
    series: figures.map((figure) => ({
      name: figure,
      label: FLOW_LABELS[figure],
      values: (flow?.buckets ?? []).map((b) => b[figure]),
      color: FLOW_COLORS[figure],
    })),
    unit: 'events',
    note:
      flow === null
        ? 'Not available: event counting does not cover this period.'
        : flowNote(
            flow.bucket,
            flow.epoch ?? null,
            flow.buckets.some((b) => b.received === null),
          ),
  });
  return charts;
}

function withNote(note: string | undefined): { note?: string } {
  return note === undefined ? {} : { note };
}
