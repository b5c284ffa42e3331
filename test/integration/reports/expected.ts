/**
 * The figures a report must show, computed straight from the sandbox's seed records (ISO
 * strings, as generated) by the definitions in docs/reports.md — without any reporter code, so
 * a test comparing the two checks the reporter against an independent reading of the data.
 */
import type { GeneratedOrg, RunRecord } from '../../../local/tallyfy-sandbox/index.ts';

const DAY = 86_400_000;
type Cell = string | number | boolean | null;
type Row = Record<string, Cell>;

export interface ExpectedReport {
  tables: Record<string, Row[]>;
  totals: Record<string, number>;
}

/** Hours with two decimals, as the docs define "hours". */
const hours = (ms: number) => Math.round(ms / 36_000) / 100;
const ms = (iso: string) => Date.parse(iso);
const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);
/** Ids ascending, "none" (null) last. */
const byId = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

/** Linear interpolation between closest ranks (numpy's default). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = sorted[Math.floor(pos)] as number;
  const hi = sorted[Math.ceil(pos)] as number;
  return lo + (hi - lo) * (pos - Math.floor(pos));
}

function overdue(list: number[]) {
  return {
    overdueTasks: list.length,
    maxOverdueHours: hours(Math.max(...list)),
    meanOverdueHours: hours(list.reduce((s, v) => s + v, 0) / list.length),
  };
}

export function expectedReport(
  org: GeneratedOrg,
  period: { sinceMs: number; untilMs: number },
  nowMs: number,
  events: { received: number; recovered: number; deadLettered: number } | null,
): ExpectedReport {
  const inPeriod = (t: number | null) => t !== null && t >= period.sinceMs && t < period.untilMs;
  const runById = new Map<string, RunRecord>(org.runs.map((r) => [r.id, r]));
  const templateIds = [...new Set(org.runs.map((r) => r.checklistId))].sort(byId);
  const titleOf = (id: string) =>
    org.runs.find((r) => r.checklistId === id)?.checklistTitle ?? null;

  const openProcessesByTemplate = templateIds
    .map((id) => ({
      templateId: id,
      templateTitle: titleOf(id),
      openProcesses: org.runs.filter(
        (r) => r.checklistId === id && r.status !== 'completed' && r.completedAt === null,
      ).length,
    }))
    .filter((row) => row.openProcesses > 0);

  const processesPerDay: Row[] = [];
  for (let day = Math.floor(period.sinceMs / DAY) * DAY; day < period.untilMs; day += DAY) {
    const key = dayOf(day);
    processesPerDay.push({
      day: key,
      launched: org.runs.filter((r) => inPeriod(ms(r.startedAt)) && dayOf(ms(r.startedAt)) === key)
        .length,
      completed: org.runs.filter(
        (r) =>
          r.completedAt !== null && inPeriod(ms(r.completedAt)) && dayOf(ms(r.completedAt)) === key,
      ).length,
    });
  }

  const cycleTimeByTemplate: Row[] = [];
  for (const id of templateIds) {
    const cycles = org.runs
      .filter((r) => r.checklistId === id && r.completedAt !== null && inPeriod(ms(r.completedAt)))
      .map((r) => ms(r.completedAt as string) - ms(r.startedAt));
    if (cycles.length === 0) continue;
    cycleTimeByTemplate.push({
      templateId: id,
      templateTitle: titleOf(id),
      completedProcesses: cycles.length,
      medianHours: hours(quantile(cycles, 0.5)),
      p90Hours: hours(quantile(cycles, 0.9)),
    });
  }

  const completedBy = new Map<string, number>();
  const overdueByUser = new Map<string, number[]>();
  const overdueByTemplate = new Map<string, number[]>();
  const dueByDay = new Map<string, number>();
  let tasksCompleted = 0;
  let overdueTasks = 0;
  let dueSoon = 0;
  for (const task of org.tasks) {
    const open = task.status !== 'completed' && task.completedAt === null;
    if (!open && task.completedAt !== null && inPeriod(ms(task.completedAt))) {
      tasksCompleted++;
      for (const user of task.ownerIds) completedBy.set(user, (completedBy.get(user) ?? 0) + 1);
    }
    if (!open || task.deadline === null) continue;
    const deadline = ms(task.deadline);
    if (deadline < nowMs) {
      overdueTasks++;
      const late = nowMs - deadline;
      for (const user of task.ownerIds)
        overdueByUser.set(user, [...(overdueByUser.get(user) ?? []), late]);
      const template = runById.get(task.runId)?.checklistId as string;
      overdueByTemplate.set(template, [...(overdueByTemplate.get(template) ?? []), late]);
    } else if (deadline < nowMs + 7 * DAY) {
      dueSoon++;
      dueByDay.set(dayOf(deadline), (dueByDay.get(dayOf(deadline)) ?? 0) + 1);
    }
  }
  const sortedKeys = <V>(map: Map<string, V>) => [...map.keys()].sort(byId);

  return {
    tables: {
      'open-processes-by-template': openProcessesByTemplate,
      'processes-per-day': processesPerDay,
      'cycle-time-by-template': cycleTimeByTemplate,
      'tasks-completed-by-assignee': sortedKeys(completedBy).map((id) => ({
        assigneeId: id,
        tasksCompleted: completedBy.get(id) as number,
      })),
      'overdue-by-assignee': sortedKeys(overdueByUser).map((id) => ({
        assigneeId: id,
        ...overdue(overdueByUser.get(id) as number[]),
      })),
      'overdue-by-template': sortedKeys(overdueByTemplate).map((id) => ({
        templateId: id,
        templateTitle: titleOf(id),
        ...overdue(overdueByTemplate.get(id) as number[]),
      })),
      'due-next-7-days': sortedKeys(dueByDay).map((day) => ({
        day,
        tasks: dueByDay.get(day) as number,
      })),
      'event-figures': [
        events === null
          ? { available: false, received: null, recovered: null, deadLettered: null }
          : { available: true, ...events },
      ],
    },
    totals: {
      processesSeen: org.runs.length,
      tasksSeen: org.tasks.length,
      openProcesses: org.runs.filter((r) => r.status !== 'completed').length,
      processesLaunched: org.runs.filter((r) => inPeriod(ms(r.startedAt))).length,
      processesCompleted: org.runs.filter(
        (r) => r.completedAt !== null && inPeriod(ms(r.completedAt)),
      ).length,
      tasksCompleted,
      overdueTasks,
      tasksDueNext7Days: dueSoon,
      tasksWithUnknownProcess: 0,
    },
  };
}

/** A table as RFC 4180 CSV (CRLF, header row, empty cell for null), for plain ids and titles. */
export function csvOf(rows: Row[], columns: string[]): string {
  const lines = [columns.join(',')];
  for (const row of rows)
    lines.push(columns.map((c) => (row[c] === null ? '' : String(row[c]))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
