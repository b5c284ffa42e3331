/**
 * Recovered events are the same events (issue 12 §4): the reconciler rebuilds, from the API's
 * view of a run, its tasks and its template, the payload the webhook would have carried, so a
 * rule that works on the webhook (`{{process.name}}`, `fields.vendor`, `data.next_task.id`)
 * works on the recovered event too. Shapes are Tallyfy's documented webhook payloads
 * (docs/tallyfy-api.md "Webhooks"); dates are written in the org's webhook date setting.
 *
 * Not rebuilt, because the API does not give them: `guest-links` (the guests' task links),
 * `process.ClientURL`, and the launch payload's time-dependent `late_tasks` / `due_soon`.
 * docs/reconciler.md lists them; the property test over every fixture checks the rest.
 */
import type {
  TallyfyChecklist,
  TallyfyRun,
  TallyfyTag,
  TallyfyTask,
  TallyfyUser,
} from '../tallyfy/index.ts';
import type { WebhookDateFormat } from './keys.ts';

type Json = Record<string, unknown>;

/** What the API says about one run, as the payload builders need it. */
export interface RunView {
  orgId: string;
  run: TallyfyRun;
  /** The run's tasks (any order). */
  tasks: readonly TallyfyTask[];
  /** The run's template, when it could be read. */
  template: TallyfyChecklist | undefined;
  /** The org's users by id (launcher, completer, owners). */
  users: ReadonlyMap<string, TallyfyUser>;
  /** The org's tags by id (the run's `tags`). */
  tags: ReadonlyMap<string, TallyfyTag>;
  /** The org's webhook date setting. */
  format: WebhookDateFormat;
}

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const text = (value: unknown): string | null =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;

/**
 * A date as a webhook carries it: ISO without milliseconds (`2026-11-19T10:42:13Z`), or the
 * localized `d/m/Y h:i A T` written in UTC (`21/11/2026 03:10 PM UTC`, the form the receiver
 * parses back to the same minute).
 *
 * @example webhookDate('2026-11-19T10:42:13.456Z', 'iso') // '2026-11-19T10:42:13Z'
 */
export function webhookDate(value: unknown, format: WebhookDateFormat): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  const d = new Date(ms);
  if (format === 'iso') return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const pad = (n: number) => String(n).padStart(2, '0');
  const hours = d.getUTCHours();
  const h12 = hours % 12 === 0 ? 12 : hours % 12;
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(h12)}:${pad(d.getUTCMinutes())} ${hours < 12 ? 'AM' : 'PM'} UTC`;
}

/** `{id, email, full_name}` of a user id, as webhooks name people. */
function person(view: RunView, id: unknown): Json {
  const key = text(id);
  const user = key === null ? undefined : view.users.get(key);
  return user
    ? { id: user.id, email: user.email ?? null, full_name: user.full_name ?? null }
    : { id: key, email: null, full_name: null };
}

/** A number, or the API's `{percent}` form of progress. */
function percent(progress: unknown): unknown {
  return isObject(progress) && typeof progress.percent === 'number' ? progress.percent : progress;
}

const byPosition = (tasks: readonly TallyfyTask[]) =>
  [...tasks].sort((a, b) => (Number(a.position) || 0) - (Number(b.position) || 0));

/** A task's form values keyed by timeline id (`captures`), when the API gives them. */
function captures(task: TallyfyTask): Json {
  return isObject(task.captures) ? { ...task.captures } : {};
}

/** Owner user ids and guest emails of an API task (`owners: {users: [ids], guests}`). */
function owners(task: TallyfyTask): { users: unknown[]; guests: unknown[] } {
  const o = isObject(task.owners) ? task.owners : {};
  return {
    users: Array.isArray(o.users) ? o.users.map((u) => (isObject(u) ? u.id : u)) : [],
    guests: Array.isArray(o.guests) ? [...o.guests] : [],
  };
}

/** `process-tasks`: step alias → task id. */
function processTasks(tasks: readonly TallyfyTask[]): Json {
  return Object.fromEntries(byPosition(tasks).map((t) => [t.alias ?? t.id, t.id]));
}

/** The run's kick-off values by alias (`prerun`). */
function prerun(run: TallyfyRun): Json {
  return isObject(run.prerun) ? { ...run.prerun } : {};
}

function templatePart(view: RunView): Json {
  const { template, run } = view;
  return {
    id: run.checklist_id ?? template?.id ?? null,
    title: template?.title ?? text(run.checklist_title),
    alias: text(template?.alias) ?? '',
    summary: text(template?.summary) ?? '',
  };
}

function tagsOf(view: RunView): Json[] {
  const tags = Array.isArray(view.run.tags) ? view.run.tags : [];
  return tags.map((tag) => {
    if (isObject(tag)) return { id: tag.id, name: tag.name, color: tag.color };
    const known = view.tags.get(String(tag));
    return known
      ? { id: known.id, name: known.name, color: (known as Json).color ?? null }
      : { id: tag, name: null, color: null };
  });
}

/**
 * The task-level webhook of a completed task (`task-completed.json`), from the API.
 *
 * @example taskCompletedPayload(view, task).this_task.id // task.id
 */
export function taskCompletedPayload(view: RunView, task: TallyfyTask): Json {
  const { run, format } = view;
  const tasks = byPosition(view.tasks);
  const formFields: Json = prerun(run);
  const processForms: Json = {};
  for (const t of tasks) {
    const values = captures(t);
    for (const capture of Object.values(values)) {
      if (isObject(capture) && typeof capture.alias === 'string') {
        formFields[capture.alias] = capture.value;
      }
    }
    const stepId = text((t as Json).step_id);
    if (Object.keys(values).length > 0 && stepId !== null) processForms[stepId] = values;
  }
  const next = tasks.find((t) => t.status !== 'completed');
  const own = owners(task);
  const progress = percent((run as Json).progress);
  return {
    this_task: {
      id: task.id,
      title: task.title,
      alias: task.alias ?? null,
      status: task.status,
      summary: (task as Json).summary ?? null,
      deadline: webhookDate(task.deadline, format),
      position: (task as Json).position ?? null,
      completed_at: webhookDate(task.completed_at, format),
      completed_by: person(view, (task as Json).completed_by),
      captures: captures(task),
      owners: { users: own.users.map((id) => person(view, id)), guests: [] },
      assets: [],
    },
    launcher: person(view, (run as Json).started_by),
    completer: person(view, (task as Json).completed_by),
    'process-tasks': processTasks(tasks),
    'form-fields': formFields,
    template: templatePart(view),
    process: {
      id: run.id,
      organization_id: view.orgId,
      name: run.name,
      summary: (run as Json).summary ?? '',
      status: run.status === 'completed' ? 'completed' : 'in-progress',
      progress,
      created_at: webhookDate(run.created_at, format),
      prerun: prerun(run),
      process_forms: processForms,
      tags: tagsOf(view),
    },
    next_task:
      next === undefined
        ? []
        : {
            id: next.id,
            title: next.title,
            alias: next.alias ?? null,
            status: next.status,
            summary: (next as Json).summary ?? null,
            position: (next as Json).position ?? null,
            deadline: webhookDate(next.deadline, format),
            captures: captures(next),
            owners: {
              users: owners(next).users.map((id) => person(view, id)),
              guests: owners(next).guests,
            },
          },
  };
}

/**
 * The process-level webhook of a launch or completion (`process-launched.json`,
 * `process-completed.json`): the run itself, from the API.
 */
export function processPayload(view: RunView): Json {
  const { run, format } = view;
  const tasks = byPosition(view.tasks);
  const r = run as Json;
  const kickoff = prerun(run);
  const launcher = person(view, r.started_by);
  const collaborators = new Set<unknown>([r.started_by]);
  for (const task of tasks) for (const id of owners(task).users) collaborators.add(id);
  let due: string | null = null;
  for (const task of tasks) {
    const deadline = typeof task.deadline === 'string' ? task.deadline : null;
    if (deadline !== null && (due === null || deadline > due)) due = deadline;
  }
  const progress = percent(r.progress);
  return {
    id: run.id,
    increment_id: r.increment_id ?? null,
    checklist_id: run.checklist_id ?? null,
    checklist_title: r.checklist_title ?? null,
    name: run.name,
    summary: r.summary ?? '',
    status: run.status,
    progress,
    whole_progress: percent(r.whole_progress ?? r.progress),
    started_by: r.started_by ?? null,
    owner_id: r.owner_id ?? null,
    prerun: kickoff,
    prerun_length: Object.keys(kickoff).length,
    created_at: webhookDate(run.created_at, format),
    started_at: webhookDate(r.started_at, format),
    last_updated: webhookDate(r.last_updated ?? r.updated_at, format),
    completed_at: webhookDate(run.completed_at, format),
    collaborators: [...collaborators],
    due_date: webhookDate(due, format),
    users: launcher.id === null ? [] : [{ user_id: launcher.id, full_name: launcher.full_name }],
    groups: [],
    'process-tasks': processTasks(tasks),
    'ko-form-fields': { ...kickoff },
    launcher,
  };
}
