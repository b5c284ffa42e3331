import { DAY_MS, inPeriod, startOfUtcDay, utcDay } from './period.ts';
import { NumberList, quantileOfSorted } from './quantile.ts';
import type { Period, ReportProcess, ReportTask } from './types.ts';

/** How far ahead "due soon" looks. */
export const DUE_SOON_MS = 7 * DAY_MS;

/** Hours with two decimals, from milliseconds. */
export function hours(ms: number): number {
  return Math.round(ms / 36_000) / 100;
}

export interface TemplateRef {
  /** `null`: tasks of one-off tasks, processes without a template, or an unseen process. */
  readonly templateId: string | null;
  readonly templateTitle: string | null;
}

export interface OverdueFigures {
  readonly overdueTasks: number;
  readonly maxOverdueHours: number;
  readonly meanOverdueHours: number;
}

export interface ReportFigures {
  readonly openProcessesByTemplate: readonly (TemplateRef & { openProcesses: number })[];
  readonly processesPerDay: readonly { day: string; launched: number; completed: number }[];
  readonly cycleTimeByTemplate: readonly (TemplateRef & {
    completedProcesses: number;
    medianHours: number;
    p90Hours: number;
  })[];
  readonly tasksCompletedByAssignee: readonly {
    assigneeId: string | null;
    tasksCompleted: number;
  }[];
  readonly overdueByAssignee: readonly ({ assigneeId: string | null } & OverdueFigures)[];
  readonly overdueByTemplate: readonly (TemplateRef & OverdueFigures)[];
  readonly dueNext7Days: readonly { day: string; tasks: number }[];
  readonly totals: {
    readonly processesSeen: number;
    readonly tasksSeen: number;
    readonly openProcesses: number;
    readonly processesLaunched: number;
    readonly processesCompleted: number;
    readonly tasksCompleted: number;
    readonly overdueTasks: number;
    readonly tasksDueNext7Days: number;
    /** Tasks whose process was not among the processes fetched (created mid-run). */
    readonly tasksWithUnknownProcess: number;
  };
}

interface TemplateState {
  readonly id: string | null;
  title: string | null;
  open: number;
  readonly cycleTimesMs: NumberList;
  readonly overdue: OverdueState;
}

interface OverdueState {
  count: number;
  sumMs: number;
  maxMs: number;
}

/** Map key for "no assignee" / "no template" (ids are never empty strings). */
const NONE = '';

/**
 * Computes every figure of a report while the pages stream past: feed all processes first
 * (`addProcess`), then tasks (`addTask`), then read `figures()`. Memory is O(processes +
 * templates + assignees + days): a process id → template map (tasks carry only their run id),
 * and per template the cycle times of processes completed in the period (exact quantiles).
 * No task is kept.
 *
 * @example
 * const agg = new ReportAggregator(period, clock());
 * for await (const page of source.processes(orgId)) for (const p of page.items) agg.addProcess(p);
 * for await (const page of source.tasks(orgId, {})) for (const t of page.items) agg.addTask(t);
 * const figures = agg.figures();
 */
export class ReportAggregator {
  readonly #period: Period;
  readonly #nowMs: number;
  readonly #templates = new Map<string, TemplateState>();
  readonly #processTemplate = new Map<string, TemplateState>();
  readonly #days = new Map<string, { launched: number; completed: number }>();
  readonly #completedByAssignee = new Map<string, number>();
  readonly #overdueByAssignee = new Map<string, OverdueState>();
  readonly #dueByDay = new Map<string, number>();
  #processesSeen = 0;
  #tasksSeen = 0;
  #tasksWithUnknownProcess = 0;
  #tasksCompleted = 0;
  #overdueTasks = 0;
  #dueSoon = 0;

  /**
   * @param period the [since, until) the flow figures cover (launched, completed, cycle time).
   * @param nowMs the snapshot instant (open, overdue, due soon are measured against it).
   */
  constructor(period: Period, nowMs: number) {
    this.#period = period;
    this.#nowMs = nowMs;
    for (let day = startOfUtcDay(period.sinceMs); day < period.untilMs; day += DAY_MS) {
      this.#days.set(utcDay(day), { launched: 0, completed: 0 });
    }
  }

  addProcess(process: ReportProcess): void {
    this.#processesSeen++;
    const template = this.#template(process.templateId, process.templateTitle);
    this.#processTemplate.set(process.id, template);
    if (process.open) template.open++;
    if (inPeriod(this.#period, process.launchedAtMs)) {
      this.#dayOf(process.launchedAtMs).launched++;
    }
    if (process.completedAtMs !== null && inPeriod(this.#period, process.completedAtMs)) {
      this.#dayOf(process.completedAtMs).completed++;
      template.cycleTimesMs.push(process.completedAtMs - process.launchedAtMs);
    }
  }

  addTask(task: ReportTask): void {
    this.#tasksSeen++;
    if (task.processId !== null && !this.#processTemplate.has(task.processId)) {
      this.#tasksWithUnknownProcess++;
    }
    const assignees = task.assigneeIds.length > 0 ? task.assigneeIds : [NONE];
    if (task.completedAtMs !== null && !task.open && inPeriod(this.#period, task.completedAtMs)) {
      this.#tasksCompleted++;
      for (const id of assignees) {
        this.#completedByAssignee.set(id, (this.#completedByAssignee.get(id) ?? 0) + 1);
      }
    }
    if (!task.open || task.deadlineMs === null) return;
    if (task.deadlineMs < this.#nowMs) {
      const overdueMs = this.#nowMs - task.deadlineMs;
      this.#overdueTasks++;
      const template = this.#templateOfTask(task);
      addOverdue(template.overdue, overdueMs);
      for (const id of assignees) {
        let state = this.#overdueByAssignee.get(id);
        if (state === undefined) {
          state = { count: 0, sumMs: 0, maxMs: 0 };
          this.#overdueByAssignee.set(id, state);
        }
        addOverdue(state, overdueMs);
      }
    } else if (task.deadlineMs < this.#nowMs + DUE_SOON_MS) {
      this.#dueSoon++;
      const day = utcDay(task.deadlineMs);
      this.#dueByDay.set(day, (this.#dueByDay.get(day) ?? 0) + 1);
    }
  }

  figures(): ReportFigures {
    const templates = [...this.#templates.values()].sort((a, b) => compareIds(a.id, b.id));
    const ref = (t: TemplateState): TemplateRef => ({ templateId: t.id, templateTitle: t.title });
    const assigneeId = (key: string): string | null => (key === NONE ? null : key);
    let openProcesses = 0;
    let processesLaunched = 0;
    let processesCompleted = 0;
    for (const t of templates) openProcesses += t.open;
    for (const d of this.#days.values()) {
      processesLaunched += d.launched;
      processesCompleted += d.completed;
    }
    return {
      openProcessesByTemplate: templates
        .filter((t) => t.open > 0)
        .map((t) => ({ ...ref(t), openProcesses: t.open })),
      processesPerDay: [...this.#days.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([day, d]) => ({ day, launched: d.launched, completed: d.completed })),
      cycleTimeByTemplate: templates
        .filter((t) => t.cycleTimesMs.length > 0)
        .map((t) => {
          const sorted = t.cycleTimesMs.sorted();
          return {
            ...ref(t),
            completedProcesses: sorted.length,
            medianHours: hours(quantileOfSorted(sorted, 0.5)),
            p90Hours: hours(quantileOfSorted(sorted, 0.9)),
          };
        }),
      tasksCompletedByAssignee: sortedEntries(this.#completedByAssignee).map(([id, n]) => ({
        assigneeId: assigneeId(id),
        tasksCompleted: n,
      })),
      overdueByAssignee: sortedEntries(this.#overdueByAssignee).map(([id, s]) => ({
        assigneeId: assigneeId(id),
        ...overdueFigures(s),
      })),
      overdueByTemplate: templates
        .filter((t) => t.overdue.count > 0)
        .map((t) => ({ ...ref(t), ...overdueFigures(t.overdue) })),
      dueNext7Days: sortedEntries(this.#dueByDay).map(([day, tasks]) => ({ day, tasks })),
      totals: {
        processesSeen: this.#processesSeen,
        tasksSeen: this.#tasksSeen,
        openProcesses,
        processesLaunched,
        processesCompleted,
        tasksCompleted: this.#tasksCompleted,
        overdueTasks: this.#overdueTasks,
        tasksDueNext7Days: this.#dueSoon,
        tasksWithUnknownProcess: this.#tasksWithUnknownProcess,
      },
    };
  }

  #template(templateId: string | null, title: string | null): TemplateState {
    const key = templateId ?? NONE;
    let state = this.#templates.get(key);
    if (state === undefined) {
      state = {
        id: templateId,
        title,
        open: 0,
        cycleTimesMs: new NumberList(),
        overdue: { count: 0, sumMs: 0, maxMs: 0 },
      };
      this.#templates.set(key, state);
    } else if (state.title === null && title !== null) {
      state.title = title;
    }
    return state;
  }

  #templateOfTask(task: ReportTask): TemplateState {
    if (task.processId === null) return this.#template(null, null);
    return this.#processTemplate.get(task.processId) ?? this.#template(null, null);
  }

  #dayOf(ms: number): { launched: number; completed: number } {
    const day = utcDay(ms);
    let counts = this.#days.get(day);
    if (counts === undefined) {
      counts = { launched: 0, completed: 0 };
      this.#days.set(day, counts);
    }
    return counts;
  }
}

function addOverdue(state: OverdueState, overdueMs: number): void {
  state.count++;
  state.sumMs += overdueMs;
  if (overdueMs > state.maxMs) state.maxMs = overdueMs;
}

function overdueFigures(state: OverdueState): OverdueFigures {
  return {
    overdueTasks: state.count,
    maxOverdueHours: hours(state.maxMs),
    meanOverdueHours: hours(state.sumMs / state.count),
  };
}

/** Ids ascending, `null` (no template / no assignee) last. */
function compareIds(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function sortedEntries<V>(map: Map<string, V>): [string, V][] {
  return [...map.entries()].sort(([a], [b]) =>
    compareIds(a === NONE ? null : a, b === NONE ? null : b),
  );
}
