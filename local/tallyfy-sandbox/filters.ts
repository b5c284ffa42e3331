import { parseFilterDate } from './dates.ts';
import type { RunRecord, TaskRecord } from './store.ts';

/**
 * List filters of `GET …/runs` and `GET …/tasks` (sandbox behaviour, see docs/sandbox.md).
 * Time filters: `<field>_after` is inclusive (>=), `<field>_before` exclusive (<).
 */

type Errors = Record<string, string[]>;

const TIME_FIELDS = ['created', 'updated', 'completed'] as const;
const RUN_STATUSES = new Set(['active', 'completed']);
const TASK_STATUSES = new Set(['not-started', 'in-progress', 'completed', 'active', 'overdue']);
const RUN_SORTS: Record<string, (r: RunRecord) => string> = {
  created_at: (r) => r.createdAt,
  updated_at: (r) => r.updatedAt,
  completed_at: (r) => r.completedAt ?? '',
  started_at: (r) => r.startedAt,
  name: (r) => r.name,
};
const TASK_SORTS: Record<string, (t: TaskRecord) => string> = {
  created_at: (t) => t.createdAt,
  updated_at: (t) => t.updatedAt,
  completed_at: (t) => t.completedAt ?? '',
  deadline: (t) => t.deadline ?? '',
  position: (t) => String(t.position).padStart(6, '0'),
};

interface TimeBound {
  pick: (item: {
    createdAt: string;
    updatedAt: string;
    completedAt: string | null;
  }) => string | null;
  after?: string;
  before?: string;
}

function readTimeBounds(query: URLSearchParams, errors: Errors): TimeBound[] {
  const bounds: TimeBound[] = [];
  for (const field of TIME_FIELDS) {
    const bound: TimeBound = {
      pick: (item) =>
        field === 'created'
          ? item.createdAt
          : field === 'updated'
            ? item.updatedAt
            : item.completedAt,
    };
    for (const side of ['after', 'before'] as const) {
      const name = `${field}_${side}`;
      const text = query.get(name);
      if (text === null) continue;
      const iso = parseFilterDate(text);
      if (iso === undefined) errors[name] = [`The ${name} is not a valid date.`];
      else bound[side] = iso;
    }
    if (bound.after !== undefined || bound.before !== undefined) bounds.push(bound);
  }
  return bounds;
}

function inBounds(item: Parameters<TimeBound['pick']>[0], bounds: TimeBound[]): boolean {
  for (const b of bounds) {
    const value = b.pick(item);
    if (value === null) return false;
    if (b.after !== undefined && value < b.after) return false;
    if (b.before !== undefined && value >= b.before) return false;
  }
  return true;
}

function readList(query: URLSearchParams, name: string): string[] | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  return text.split(',').map((s) => s.trim());
}

function readSort<T>(
  query: URLSearchParams,
  sorts: Record<string, (item: T) => string>,
  errors: Errors,
): { key: (item: T) => string; descending: boolean } | undefined {
  const text = query.get('sort');
  if (text === null || text === '') return undefined;
  const descending = text.startsWith('-');
  const key = sorts[descending ? text.slice(1) : text];
  if (!key) {
    errors.sort = [
      `The sort must be one of: ${Object.keys(sorts).join(', ')} (prefix - for descending).`,
    ];
    return undefined;
  }
  return { key, descending };
}

function sortBy<T>(items: T[], sort: { key: (item: T) => string; descending: boolean }): T[] {
  const dir = sort.descending ? -1 : 1;
  return items.sort((a, b) => {
    const x = sort.key(a);
    const y = sort.key(b);
    return x < y ? -dir : x > y ? dir : 0;
  });
}

export type Filtered<T> =
  | { ok: true; items: T[]; cacheable: boolean }
  | { ok: false; errors: Errors };

export function filterRuns(
  runs: readonly RunRecord[],
  query: URLSearchParams,
): Filtered<RunRecord> {
  const errors: Errors = {};
  const statuses = readList(query, 'status');
  for (const s of statuses ?? []) {
    if (!RUN_STATUSES.has(s))
      errors.status = [`The status must be one of: ${[...RUN_STATUSES].join(', ')}.`];
  }
  const checklistIds = readList(query, 'checklist_id');
  // `q`: Tallyfy's "search term for process name"; here a case-insensitive substring
  const search = query.get('q')?.trim().toLowerCase() || undefined;
  const bounds = readTimeBounds(query, errors);
  const sort = readSort(query, RUN_SORTS, errors);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const statusSet = statuses ? new Set(statuses) : undefined;
  const checklistSet = checklistIds ? new Set(checklistIds) : undefined;
  let items = runs.filter(
    (r) =>
      (!statusSet || statusSet.has(r.status)) &&
      (!checklistSet || checklistSet.has(r.checklistId)) &&
      (search === undefined || r.name.toLowerCase().includes(search)) &&
      inBounds(r, bounds),
  );
  if (sort) items = sortBy(items, sort);
  return { ok: true, items, cacheable: true };
}

export function filterTasks(
  tasks: readonly TaskRecord[],
  query: URLSearchParams,
  nowIso: string,
  ownerId?: string,
): Filtered<TaskRecord> {
  const errors: Errors = {};
  const statuses = readList(query, 'status');
  for (const s of statuses ?? []) {
    if (!TASK_STATUSES.has(s))
      errors.status = [`The status must be one of: ${[...TASK_STATUSES].join(', ')}.`];
  }
  const owners = readList(query, 'owner');
  const runIds = readList(query, 'run_id');
  const checklistIds = readList(query, 'checklist_id');
  const bounds = readTimeBounds(query, errors);
  const deadlineBefore = query.get('deadline_before');
  let deadlineIso: string | undefined;
  if (deadlineBefore !== null) {
    deadlineIso = parseFilterDate(deadlineBefore);
    if (deadlineIso === undefined)
      errors.deadline_before = ['The deadline_before is not a valid date.'];
  }
  const sort = readSort(query, TASK_SORTS, errors);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const overdueAsked = statuses?.includes('overdue') ?? false;
  const statusOk = (t: TaskRecord) => {
    if (!statuses) return true;
    for (const s of statuses) {
      if (s === t.status) return true;
      if (s === 'active' && t.status !== 'completed') return true;
      if (
        s === 'overdue' &&
        t.status !== 'completed' &&
        t.deadline !== null &&
        t.deadline < nowIso
      ) {
        return true;
      }
    }
    return false;
  };
  const ownerSet = owners ? new Set(owners) : undefined;
  const runSet = runIds ? new Set(runIds) : undefined;
  const checklistSet = checklistIds ? new Set(checklistIds) : undefined;
  let items = tasks.filter(
    (t) =>
      statusOk(t) &&
      (!ownerId || t.ownerIds.includes(ownerId)) &&
      (!ownerSet || t.ownerIds.some((id) => ownerSet.has(id))) &&
      (!runSet || runSet.has(t.runId)) &&
      (!checklistSet || checklistSet.has(t.checklistId)) &&
      (deadlineIso === undefined || (t.deadline !== null && t.deadline < deadlineIso)) &&
      inBounds(t, bounds),
  );
  if (sort) items = sortBy(items, sort);
  // "overdue" depends on the clock, so its result cannot outlive the request
  return { ok: true, items, cacheable: !overdueAsked };
}
