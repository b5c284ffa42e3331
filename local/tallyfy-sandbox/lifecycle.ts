import { randomUUID } from 'node:crypto';
import { isoAt } from './dates.ts';
import { processPayload, taskCompletedPayload, watcherEnvelope } from './payloads.ts';
import type {
  CommentRecord,
  OrgRecord,
  RunRecord,
  SandboxStore,
  TaskRecord,
  TemplateRecord,
} from './store.ts';
import type { Outgoing } from './webhooks.ts';

/** State changes shared by the API and the admin door, and the webhooks they cause. */

const newId = () => randomUUID().replaceAll('-', '');

function watcherEvents(
  store: SandboxStore,
  orgId: string,
  event: string,
  occurredAt: string,
  data: unknown,
): Outgoing[] {
  return store.watchersOf(orgId).map((w) => ({
    orgId,
    event,
    target: 'watcher' as const,
    url: w.webhook,
    body: watcherEnvelope(event, orgId, occurredAt, data),
  }));
}

function templateUrl(store: SandboxStore, org: OrgRecord, checklistId: string): string | null {
  return store.templates.get(checklistId)?.webhookUrl ?? org.webhookUrl;
}

export interface LaunchInput {
  template: TemplateRecord;
  name: string;
  summary?: string;
  prerun: Record<string, string>;
  launcherId: string;
}

export function launchRun(
  store: SandboxStore,
  org: OrgRecord,
  input: LaunchInput,
  nowMs: number,
): { run: RunRecord; events: Outgoing[] } {
  const now = isoAt(nowMs);
  const runId = newId();
  const tasks: TaskRecord[] = input.template.steps.map((step) => ({
    id: newId(),
    orgId: org.id,
    runId,
    checklistId: input.template.id,
    stepId: step.id,
    alias: step.alias,
    title: step.title,
    summary: step.summary,
    position: step.position,
    status: 'not-started',
    deadline: isoAt(nowMs + step.deadlineOffsetHours * 3_600_000),
    ownerIds: step.assigneeIds.length > 0 ? [...step.assigneeIds] : [input.launcherId],
    guestEmails: [...step.guestEmails],
    captures: {},
    createdAt: now,
    startedAt: now,
    updatedAt: now,
    completedAt: null,
    completedBy: null,
  }));
  const run: RunRecord = {
    id: runId,
    orgId: org.id,
    incrementId: org.nextIncrementId++,
    checklistId: input.template.id,
    checklistTitle: input.template.title,
    name: input.name,
    summary: input.summary ?? '',
    status: tasks.length === 0 ? 'completed' : 'active',
    startedBy: input.launcherId,
    ownerId: input.launcherId,
    prerun: input.prerun,
    tagIds: [],
    createdAt: now,
    startedAt: now,
    updatedAt: now,
    completedAt: tasks.length === 0 ? now : null,
    taskIds: tasks.map((t) => t.id),
  };
  store.putRun(run, tasks);

  const events: Outgoing[] = [];
  const payload = processPayload(store, org, run, now);
  const url = templateUrl(store, org, run.checklistId);
  if (url) {
    events.push({
      orgId: org.id,
      event: 'process.launched',
      target: 'template',
      url,
      body: payload,
    });
  }
  events.push(...watcherEvents(store, org.id, 'process.launched', now, payload));
  return { run, events };
}

export type CompleteResult =
  | { ok: true; task: TaskRecord; run: RunRecord; events: Outgoing[] }
  | { ok: false; reason: 'not_found' | 'already_completed' };

export function completeTask(
  store: SandboxStore,
  org: OrgRecord,
  taskId: string,
  userId: string,
  nowMs: number,
  captures: Record<string, string> = {},
): CompleteResult {
  const task = store.tasks.get(taskId);
  if (!task || task.orgId !== org.id) return { ok: false, reason: 'not_found' };
  const run = store.runs.get(task.runId);
  if (!run) return { ok: false, reason: 'not_found' };
  if (task.status === 'completed') return { ok: false, reason: 'already_completed' };

  const now = isoAt(nowMs);
  const step = store.templates.get(run.checklistId)?.steps.find((s) => s.id === task.stepId);
  for (const [alias, value] of Object.entries(captures)) {
    const field = step?.fields.find((f) => f.alias === alias || f.id === alias);
    if (field) task.captures[field.id] = { alias: field.alias, label: field.label, value };
  }
  task.status = 'completed';
  task.completedAt = now;
  task.completedBy = userId;
  task.updatedAt = now;
  run.updatedAt = now;
  const tasks = store.tasksOfRun(run.id);
  const lastOne = tasks.every((t) => t.status === 'completed');
  if (lastOne) {
    run.status = 'completed';
    run.completedAt = now;
  }
  store.touch({ kind: 'task', record: task }, { kind: 'run', record: run });

  const events: Outgoing[] = [];
  const taskPayload = taskCompletedPayload(store, org, run, task);
  const url = step?.webhookUrl ?? templateUrl(store, org, run.checklistId);
  if (url) {
    events.push({
      orgId: org.id,
      event: 'task.completed',
      target: step?.webhookUrl ? 'step' : 'template',
      url,
      body: taskPayload,
    });
  }
  events.push(...watcherEvents(store, org.id, 'task.completed', now, taskPayload));
  if (lastOne) {
    const processBody = processPayload(store, org, run, now);
    const processUrl = templateUrl(store, org, run.checklistId);
    if (processUrl) {
      events.push({
        orgId: org.id,
        event: 'process.completed',
        target: 'template',
        url: processUrl,
        body: processBody,
      });
    }
    events.push(...watcherEvents(store, org.id, 'process.completed', now, processBody));
  }
  return { ok: true, task, run, events };
}

/** Reopens a completed task (its run becomes active again); sends no webhook. */
export function reopenTask(
  store: SandboxStore,
  org: OrgRecord,
  taskId: string,
  nowMs: number,
): TaskRecord | undefined {
  const task = store.tasks.get(taskId);
  if (!task || task.orgId !== org.id) return undefined;
  const run = store.runs.get(task.runId);
  const now = isoAt(nowMs);
  task.status = 'not-started';
  task.completedAt = null;
  task.completedBy = null;
  task.updatedAt = now;
  if (run) {
    run.status = 'active';
    run.completedAt = null;
    run.updatedAt = now;
  }
  store.touch(
    { kind: 'task', record: task },
    ...(run ? [{ kind: 'run' as const, record: run }] : []),
  );
  return task;
}

export function addComment(
  store: SandboxStore,
  org: OrgRecord,
  task: TaskRecord,
  authorId: string | null,
  content: string,
  nowMs: number,
): { comment: CommentRecord; events: Outgoing[] } {
  const now = isoAt(nowMs);
  const comment: CommentRecord = {
    id: newId(),
    orgId: org.id,
    taskId: task.id,
    authorId,
    content,
    createdAt: now,
  };
  store.putComment(comment);
  const data = {
    comment: { id: comment.id, content, created_at: now, author_id: authorId },
    task: { id: task.id, title: task.title, alias: task.alias, run_id: task.runId },
  };
  return { comment, events: watcherEvents(store, org.id, 'task.comment_added', now, data) };
}
