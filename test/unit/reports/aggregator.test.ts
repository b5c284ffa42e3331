import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ReportAggregator } from '../../../shared/reports/aggregator.ts';
import type { Period, ReportProcess, ReportTask } from '../../../shared/reports/types.ts';

const H = 3_600_000;
const since = Date.parse('2026-11-16T00:00:00Z');
const until = Date.parse('2026-11-23T00:00:00Z');
const now = Date.parse('2026-11-23T06:00:00Z');
const period: Period = { sinceMs: since, untilMs: until };

function aggregate(processes: ReportProcess[], tasks: ReportTask[]) {
  const agg = new ReportAggregator(period, now);
  for (const p of processes) agg.addProcess(p);
  for (const t of tasks) agg.addTask(t);
  return agg.figures();
}

function process(id: string, templateId: string | null, launched: number, completed?: number) {
  return {
    id,
    templateId,
    templateTitle: templateId === null ? null : `Title ${templateId}`,
    launchedAtMs: launched,
    completedAtMs: completed ?? null,
    open: completed === undefined,
  } satisfies ReportProcess;
}

function task(
  id: string,
  processId: string | null,
  fields: { deadline?: number; completed?: number; owners?: string[] },
): ReportTask {
  return {
    id,
    processId,
    open: fields.completed === undefined,
    deadlineMs: fields.deadline ?? null,
    completedAtMs: fields.completed ?? null,
    assigneeIds: fields.owners ?? [],
  };
}

describe('report aggregator', () => {
  test('cycle time quantiles cover only processes completed in the period', () => {
    const figures = aggregate(
      [
        process('p1', 't1', since - 10 * H, since + 2 * H), // 12 h
        process('p2', 't1', since, since + 24 * H), // 24 h
        process('p3', 't1', since, since + 30 * H), // 30 h
        process('p4', 't1', since - 48 * H, since - H), // completed before the period
        process('p5', 't1', since, until + H), // completed after the period
      ],
      [],
    );
    expect(figures.cycleTimeByTemplate).toEqual([
      {
        templateId: 't1',
        templateTitle: 'Title t1',
        completedProcesses: 3,
        medianHours: 24,
        p90Hours: 28.8,
      },
    ]);
  });

  test('a task with two owners counts for each owner and once in the totals', () => {
    const figures = aggregate(
      [process('p1', 't1', since)],
      [
        task('a', 'p1', { completed: since + H, owners: ['u1', 'u2'] }),
        task('b', 'p1', { deadline: now - 3 * H, owners: ['u1', 'u2'] }),
      ],
    );
    expect(figures.totals.tasksCompleted).toBe(1);
    expect(figures.totals.overdueTasks).toBe(1);
    expect(figures.tasksCompletedByAssignee.map((r) => r.assigneeId)).toEqual(['u1', 'u2']);
    expect(figures.overdueByTemplate).toEqual([
      {
        templateId: 't1',
        templateTitle: 'Title t1',
        overdueTasks: 1,
        maxOverdueHours: 3,
        meanOverdueHours: 3,
      },
    ]);
  });

  test('tasks without owners, process or a seen process are reported under null, not dropped', () => {
    const figures = aggregate(
      [],
      [
        task('a', null, { deadline: now - H }),
        task('b', 'never-fetched', { deadline: now - 2 * H, owners: ['u9'] }),
      ],
    );
    expect(figures.overdueByAssignee.map((r) => [r.assigneeId, r.overdueTasks])).toEqual([
      ['u9', 1],
      [null, 1],
    ]);
    expect(figures.overdueByTemplate).toMatchObject([{ templateId: null, overdueTasks: 2 }]);
    expect(figures.totals.tasksWithUnknownProcess).toBe(1);
  });

  test('processes per day lists every day of the period, empty ones as zeros', () => {
    const figures = aggregate([process('p1', 't1', since + 30 * H, since + 50 * H)], []);
    expect(figures.processesPerDay).toHaveLength(7);
    expect(figures.processesPerDay.slice(0, 3)).toEqual([
      { day: '2026-11-16', launched: 0, completed: 0 },
      { day: '2026-11-17', launched: 1, completed: 0 },
      { day: '2026-11-18', launched: 0, completed: 1 },
    ]);
  });

  test('every figure equals a plain recomputation, for any data', () => {
    const instant = fc.integer({ min: since - 20 * 24 * H, max: now + 20 * 24 * H });
    const processArb = fc.record({
      template: fc.constantFrom('t1', 't2', 't3', null),
      launched: instant,
      durationMs: fc.option(fc.integer({ min: 0, max: 30 * 24 * H }), { nil: undefined }),
    });
    const taskArb = fc.record({
      processIndex: fc.option(fc.nat(40), { nil: null }),
      deadline: fc.option(instant, { nil: undefined }),
      completed: fc.option(instant, { nil: undefined }),
      owners: fc.uniqueArray(fc.constantFrom('u1', 'u2', 'u3', 'u4'), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(processArb, { maxLength: 40 }),
        fc.array(taskArb, { maxLength: 120 }),
        (ps, ts) => {
          const processes = ps.map((p, i) =>
            process(
              `p${i}`,
              p.template,
              p.launched,
              p.durationMs === undefined ? undefined : p.launched + p.durationMs,
            ),
          );
          const tasks = ts.map((t, i) =>
            task(`k${i}`, t.processIndex === null ? null : `p${t.processIndex}`, t),
          );
          expect(aggregate(processes, tasks)).toEqual(expected(processes, tasks));
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** The figures by brute force: group, sort, count. Written without the aggregator's code. */
function expected(processes: ReportProcess[], tasks: ReportTask[]) {
  const inP = (ms: number | null) => ms !== null && ms >= since && ms < until;
  const hrs = (ms: number) => Math.round(ms / 36_000) / 100;
  const q = (s: number[], p: number) => {
    const pos = (s.length - 1) * p;
    const lo = s[Math.floor(pos)] as number;
    const hi = s[Math.ceil(pos)] as number;
    return lo + (hi - lo) * (pos - Math.floor(pos));
  };
  const order = (a: string | null, b: string | null) =>
    a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;
  const byId = new Map(processes.map((p) => [p.id, p]));
  const templateIds = [...new Set(processes.map((p) => p.templateId))];
  const hasUnseen = tasks.some((t) => t.processId === null || !byId.has(t.processId));
  if (hasUnseen && !templateIds.includes(null)) templateIds.push(null);
  templateIds.sort(order);
  const title = (id: string | null) => (id === null ? null : `Title ${id}`);
  const templateOf = (t: ReportTask) =>
    t.processId === null ? null : (byId.get(t.processId)?.templateId ?? null);
  const overdue = tasks.filter((t) => t.open && t.deadlineMs !== null && t.deadlineMs < now);
  const dueSoon = tasks.filter(
    (t) =>
      t.open && t.deadlineMs !== null && t.deadlineMs >= now && t.deadlineMs < now + 7 * 24 * H,
  );
  const completed = tasks.filter((t) => !t.open && inP(t.completedAtMs));
  const owners = (t: ReportTask): (string | null)[] =>
    t.assigneeIds.length > 0 ? [...t.assigneeIds] : [null];
  const overdueStats = (list: ReportTask[]) => {
    const ages = list.map((t) => now - (t.deadlineMs as number));
    return {
      overdueTasks: ages.length,
      maxOverdueHours: hrs(Math.max(...ages)),
      meanOverdueHours: hrs(ages.reduce((a, b) => a + b, 0) / ages.length),
    };
  };
  const assigneesOf = (list: ReportTask[]) => [...new Set(list.flatMap(owners))].sort(order);
  const days: string[] = [];
  for (let d = since; d < until; d += 24 * H) days.push(new Date(d).toISOString().slice(0, 10));
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return {
    openProcessesByTemplate: templateIds
      .map((id) => ({
        templateId: id,
        templateTitle: title(id),
        openProcesses: processes.filter((p) => p.templateId === id && p.open).length,
      }))
      .filter((r) => r.openProcesses > 0),
    processesPerDay: days.map((d) => ({
      day: d,
      launched: processes.filter((p) => inP(p.launchedAtMs) && day(p.launchedAtMs) === d).length,
      completed: processes.filter(
        (p) => inP(p.completedAtMs) && day(p.completedAtMs as number) === d,
      ).length,
    })),
    cycleTimeByTemplate: templateIds.flatMap((id) => {
      const cycles = processes
        .filter((p) => p.templateId === id && inP(p.completedAtMs))
        .map((p) => (p.completedAtMs as number) - p.launchedAtMs)
        .sort((a, b) => a - b);
      if (cycles.length === 0) return [];
      return [
        {
          templateId: id,
          templateTitle: title(id),
          completedProcesses: cycles.length,
          medianHours: hrs(q(cycles, 0.5)),
          p90Hours: hrs(q(cycles, 0.9)),
        },
      ];
    }),
    tasksCompletedByAssignee: assigneesOf(completed).map((id) => ({
      assigneeId: id,
      tasksCompleted: completed.filter((t) => owners(t).includes(id)).length,
    })),
    overdueByAssignee: assigneesOf(overdue).map((id) => ({
      assigneeId: id,
      ...overdueStats(overdue.filter((t) => owners(t).includes(id))),
    })),
    overdueByTemplate: templateIds.flatMap((id) => {
      const list = overdue.filter((t) => templateOf(t) === id);
      return list.length === 0
        ? []
        : [{ templateId: id, templateTitle: title(id), ...overdueStats(list) }];
    }),
    dueNext7Days: [...new Set(dueSoon.map((t) => day(t.deadlineMs as number)))].sort().map((d) => ({
      day: d,
      tasks: dueSoon.filter((t) => day(t.deadlineMs as number) === d).length,
    })),
    totals: {
      processesSeen: processes.length,
      tasksSeen: tasks.length,
      openProcesses: processes.filter((p) => p.open).length,
      processesLaunched: processes.filter((p) => inP(p.launchedAtMs)).length,
      processesCompleted: processes.filter((p) => inP(p.completedAtMs)).length,
      tasksCompleted: completed.length,
      overdueTasks: overdue.length,
      tasksDueNext7Days: dueSoon.length,
      tasksWithUnknownProcess: tasks.filter((t) => t.processId !== null && !byId.has(t.processId))
        .length,
    },
  };
}
