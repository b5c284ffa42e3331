import { webhookDate } from './dates.ts';
import type { OrgRecord, RunRecord, SandboxStore, TaskRecord, UserRecord } from './store.ts';

/** Payload shapes exactly as test/unit/webhooks/fixtures/*.json (Tallyfy's documented webhooks). */

type Format = 'iso' | 'human';

function person(user: UserRecord | undefined, id: string | null) {
  return user
    ? { id: user.id, email: user.email, full_name: user.fullName }
    : { id, email: null, full_name: null };
}

export function progressOf(tasks: readonly TaskRecord[]): number {
  if (tasks.length === 0) return 100;
  const done = tasks.filter((t) => t.status === 'completed').length;
  return Math.floor((done / tasks.length) * 100);
}

function processTasks(tasks: readonly TaskRecord[]): Record<string, string> {
  return Object.fromEntries(tasks.map((t) => [t.alias, t.id]));
}

function guestLinks(orgId: string, store: SandboxStore, emails: Iterable<string>) {
  const guests = store.index(orgId).guests;
  const links: Record<string, { link_for_guest: string }> = {};
  for (const email of emails) {
    const code = guests.find((g) => g.email === email)?.code ?? email;
    links[email] = { link_for_guest: `https://go.tallyfy.com/guest-all-task/${orgId}/${code}` };
  }
  return links;
}

function collaborators(run: RunRecord, tasks: readonly TaskRecord[]): string[] {
  const ids = new Set<string>([run.startedBy]);
  for (const task of tasks) for (const id of task.ownerIds) ids.add(id);
  return [...ids];
}

function dueDate(tasks: readonly TaskRecord[]): string | null {
  let max: string | null = null;
  for (const t of tasks) if (t.deadline && (max === null || t.deadline > max)) max = t.deadline;
  return max;
}

/** The process-level payload (`process-launched.json`, `process-completed.json`). */
export function processPayload(
  store: SandboxStore,
  org: OrgRecord,
  run: RunRecord,
  nowIso: string,
) {
  const f: Format = org.dateFormat;
  const tasks = store.tasksOfRun(run.id);
  const launcher = store.users.get(run.startedBy);
  const progress = progressOf(tasks);
  const guests = new Set(tasks.flatMap((t) => t.guestEmails));
  return {
    id: run.id,
    increment_id: run.incrementId,
    checklist_id: run.checklistId,
    checklist_title: run.checklistTitle,
    name: run.name,
    summary: run.summary,
    status: run.status,
    progress,
    whole_progress: progress,
    started_by: run.startedBy,
    owner_id: run.ownerId,
    prerun: { ...run.prerun },
    prerun_status: 'completed',
    prerun_completed_at: webhookDate(run.createdAt, f),
    prerun_completed_by: run.startedBy,
    prerun_length: Object.keys(run.prerun).length,
    created_at: webhookDate(run.createdAt, f),
    started_at: webhookDate(run.startedAt, f),
    last_updated: webhookDate(run.updatedAt, f),
    completed_at: webhookDate(run.completedAt, f),
    collaborators: collaborators(run, tasks),
    late_tasks: tasks.filter((t) => t.status !== 'completed' && t.deadline && t.deadline < nowIso)
      .length,
    due_soon: false,
    due_date: webhookDate(dueDate(tasks), f),
    users: launcher ? [{ user_id: launcher.id, full_name: launcher.fullName }] : [],
    groups: [],
    'process-tasks': processTasks(tasks),
    'ko-form-fields': { ...run.prerun },
    'guest-links': guestLinks(org.id, store, guests),
    launcher: person(launcher, run.startedBy),
  };
}

function owners(store: SandboxStore, task: TaskRecord) {
  return {
    users: task.ownerIds.map((id) => person(store.users.get(id), id)),
    guests: [...task.guestEmails],
  };
}

/** The task-level payload (`task-completed.json`, `task-completed-last-step.json`). */
export function taskCompletedPayload(
  store: SandboxStore,
  org: OrgRecord,
  run: RunRecord,
  task: TaskRecord,
) {
  const f: Format = org.dateFormat;
  const tasks = store.tasksOfRun(run.id);
  const template = store.templates.get(run.checklistId);
  const completer = task.completedBy ? store.users.get(task.completedBy) : undefined;
  const formFields: Record<string, string> = { ...run.prerun };
  const processForms: Record<string, Record<string, unknown>> = {};
  for (const t of tasks) {
    for (const capture of Object.values(t.captures)) formFields[capture.alias] = capture.value;
    if (Object.keys(t.captures).length > 0) processForms[t.stepId] = { ...t.captures };
  }
  const next = tasks
    .filter((t) => t.status !== 'completed')
    .sort((a, b) => a.position - b.position)[0];
  const tags = store.index(org.id).tags.filter((tag) => run.tagIds.includes(tag.id));
  return {
    this_task: {
      id: task.id,
      title: task.title,
      alias: task.alias,
      status: task.status,
      summary: task.summary,
      deadline: webhookDate(task.deadline, f),
      position: task.position,
      completed_at: webhookDate(task.completedAt, f),
      completed_by: person(completer, task.completedBy),
      captures: { ...task.captures },
      owners: { users: owners(store, task).users, guests: [] as string[] },
      assets: [] as unknown[],
    },
    launcher: person(store.users.get(run.startedBy), run.startedBy),
    completer: person(completer, task.completedBy),
    'process-tasks': processTasks(tasks),
    'form-fields': formFields,
    template: {
      id: run.checklistId,
      title: template?.title ?? run.checklistTitle,
      alias: template?.alias ?? '',
      summary: template?.summary ?? '',
    },
    process: {
      id: run.id,
      organization_id: org.id,
      name: run.name,
      summary: run.summary,
      status: run.status === 'completed' ? 'completed' : 'in-progress',
      progress: progressOf(tasks),
      created_at: webhookDate(run.createdAt, f),
      ClientURL: `https://go.tallyfy.com/tracker/${run.id}`,
      prerun: { ...run.prerun },
      process_forms: processForms,
      tags: tags.map((t) => ({ id: t.id, name: t.name, color: t.color })),
    },
    'guest-links': guestLinks(org.id, store, task.guestEmails),
    next_task: next
      ? {
          id: next.id,
          title: next.title,
          alias: next.alias,
          status: next.status,
          summary: next.summary,
          position: next.position,
          deadline: webhookDate(next.deadline, f),
          captures: { ...next.captures },
          owners: owners(store, next),
        }
      : [],
  };
}

/** The org-watcher envelope (`watcher-task-completed.json`). */
export function watcherEnvelope(event: string, orgId: string, occurredAt: string, data: unknown) {
  return {
    event,
    organization_id: orgId,
    occurred_at: webhookDate(occurredAt, 'iso'),
    data,
  };
}
