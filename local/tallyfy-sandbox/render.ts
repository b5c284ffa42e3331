import { progressOf } from './payloads.ts';
import type {
  CommentRecord,
  GroupRecord,
  GuestRecord,
  OrgRecord,
  RunRecord,
  SandboxStore,
  TagRecord,
  TaskRecord,
  TemplateRecord,
  UserRecord,
  WatcherRecord,
} from './store.ts';

/** API representations (always ISO dates), as Tallyfy's transformers answer. */

export function renderOrg(org: OrgRecord) {
  return { id: org.id, name: org.name, timezone: org.timezone, created_at: org.createdAt };
}

export function renderUser(user: UserRecord, orgId?: string) {
  return {
    id: user.id,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    full_name: user.fullName,
    role: orgId ? (user.roles.get(orgId) ?? null) : null,
    status: 'active',
    created_at: user.createdAt,
  };
}

export function renderTemplate(template: TemplateRecord, withSteps: boolean) {
  return {
    id: template.id,
    title: template.title,
    alias: template.alias,
    summary: template.summary,
    organization_id: template.orgId,
    prerun: template.prerun.map((f) => ({ id: f.id, alias: f.alias, label: f.label })),
    steps_count: template.steps.length,
    created_at: template.createdAt,
    last_updated: template.updatedAt,
    ...(withSteps
      ? {
          steps: template.steps.map((s) => ({
            id: s.id,
            alias: s.alias,
            title: s.title,
            summary: s.summary,
            position: s.position,
            deadline: { value: s.deadlineOffsetHours, unit: 'hours' },
            assignees: s.assigneeIds,
            guests: s.guestEmails,
            captures: s.fields.map((f) => ({ id: f.id, alias: f.alias, label: f.label })),
          })),
        }
      : {}),
  };
}

export function renderRun(store: SandboxStore, run: RunRecord) {
  // tasks are read only for progress: runs of a few tasks keep this cheap
  const tasks = store.tasksOfRun(run.id);
  const progress = progressOf(tasks);
  return {
    id: run.id,
    increment_id: run.incrementId,
    organization_id: run.orgId,
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
    tags: run.tagIds,
    created_at: run.createdAt,
    started_at: run.startedAt,
    last_updated: run.updatedAt,
    updated_at: run.updatedAt,
    completed_at: run.completedAt,
    archived_at: null,
  };
}

export function renderTask(task: TaskRecord) {
  return {
    id: task.id,
    organization_id: task.orgId,
    run_id: task.runId,
    checklist_id: task.checklistId,
    step_id: task.stepId,
    alias: task.alias,
    title: task.title,
    summary: task.summary,
    position: task.position,
    status: task.status,
    deadline: task.deadline,
    owners: { users: [...task.ownerIds], guests: [...task.guestEmails], groups: [] },
    captures: { ...task.captures },
    is_oneoff_task: false,
    created_at: task.createdAt,
    started_at: task.startedAt,
    last_updated: task.updatedAt,
    updated_at: task.updatedAt,
    completed_at: task.completedAt,
    completed_by: task.completedBy,
  };
}

/** A comment as a task's `threads` include lists it (`GET …/tasks/{id}?with=threads`). */
export function renderThread(comment: CommentRecord) {
  return {
    id: comment.id,
    content: comment.content,
    label: 'comment',
    state: 'open',
    user_id: comment.authorId,
    created_at: comment.createdAt,
  };
}

export function renderComment(comment: CommentRecord) {
  return {
    id: comment.id,
    task_id: comment.taskId,
    content: comment.content,
    author_id: comment.authorId,
    created_at: comment.createdAt,
  };
}

export function renderGroup(group: GroupRecord) {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    members: [...group.memberIds],
  };
}

export function renderGuest(guest: GuestRecord) {
  return { email: guest.email, first_name: guest.firstName, last_name: guest.lastName };
}

export function renderTag(tag: TagRecord) {
  return { id: tag.id, name: tag.name, color: tag.color };
}

export function renderWatcher(w: WatcherRecord) {
  return {
    id: w.id,
    user_id: w.userId,
    object_type: w.objectType,
    object_id: w.objectId,
    notification_type: w.notificationType,
    frequency: w.frequency,
    webhook: w.webhook,
    created_at: w.createdAt,
  };
}
