/**
 * The sandbox's in-memory data. Timestamps are ISO strings from `toISOString()` (UTC, with
 * milliseconds), so they compare correctly as strings: filters never parse dates per item.
 * Per-org arrays keep lists O(page) when unfiltered; `version` changes on every mutation so
 * filtered lists can be cached.
 */

export interface OrgRecord {
  id: string;
  name: string;
  timezone: string;
  dateFormat: 'iso' | 'human';
  /** Webhook URL of every template in the org unless the template sets its own. */
  webhookUrl: string | null;
  nextIncrementId: number;
  createdAt: string;
}

export interface UserRecord {
  id: string;
  email: string;
  password: string;
  firstName: string;
  lastName: string;
  fullName: string;
  /** Role per org id. */
  roles: Map<string, 'admin' | 'standard' | 'light'>;
  createdAt: string;
}

export interface ClientRecord {
  clientId: string;
  clientSecret: string;
  orgId: string | null;
}

export interface FieldRecord {
  /** Timeline id (the key of `captures`). */
  id: string;
  alias: string;
  label: string;
}

export interface StepRecord {
  id: string;
  alias: string;
  title: string;
  summary: string;
  position: number;
  /** Deadline of the task, relative to launch. */
  deadlineOffsetHours: number;
  assigneeIds: string[];
  guestEmails: string[];
  fields: FieldRecord[];
  webhookUrl: string | null;
}

export interface TemplateRecord {
  id: string;
  orgId: string;
  title: string;
  alias: string;
  summary: string;
  /** Kick-off form fields. */
  prerun: FieldRecord[];
  steps: StepRecord[];
  webhookUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

export type RunStatus = 'active' | 'completed';
export type TaskStatus = 'not-started' | 'in-progress' | 'completed';

export interface RunRecord {
  id: string;
  orgId: string;
  incrementId: number;
  checklistId: string;
  checklistTitle: string;
  name: string;
  summary: string;
  status: RunStatus;
  startedBy: string;
  ownerId: string;
  /** Kick-off values by field alias. */
  prerun: Record<string, string>;
  tagIds: string[];
  createdAt: string;
  startedAt: string;
  updatedAt: string;
  completedAt: string | null;
  /** Task ids in position order. */
  taskIds: string[];
}

export interface CaptureRecord {
  alias: string;
  label: string;
  value: string;
}

export interface TaskRecord {
  id: string;
  orgId: string;
  runId: string;
  checklistId: string;
  stepId: string;
  alias: string;
  title: string;
  summary: string;
  position: number;
  status: TaskStatus;
  deadline: string | null;
  ownerIds: string[];
  guestEmails: string[];
  /** Captured form values keyed by timeline (field) id. */
  captures: Record<string, CaptureRecord>;
  createdAt: string;
  startedAt: string;
  updatedAt: string;
  completedAt: string | null;
  completedBy: string | null;
}

export interface CommentRecord {
  id: string;
  orgId: string;
  taskId: string;
  authorId: string | null;
  content: string;
  createdAt: string;
}

export interface GroupRecord {
  id: string;
  orgId: string;
  name: string;
  description: string;
  memberIds: string[];
}

export interface GuestRecord {
  email: string;
  orgId: string;
  firstName: string;
  lastName: string;
  /** Code in the guest's task link. */
  code: string;
}

export interface TagRecord {
  id: string;
  orgId: string;
  name: string;
  color: string;
}

export interface WatcherRecord {
  id: string;
  orgId: string;
  userId: string;
  objectType: string;
  objectId: string;
  notificationType: string;
  frequency: string;
  webhook: string;
  createdAt: string;
}

/** The kinds of record the store holds (the persistence layer journals them by kind). */
export type StoreKind =
  | 'org'
  | 'user'
  | 'client'
  | 'template'
  | 'run'
  | 'task'
  | 'comment'
  | 'group'
  | 'guest'
  | 'tag'
  | 'watcher';

/** A record that changed, for {@link SandboxStore.touch}. */
export interface StoreChange {
  kind: StoreKind;
  record: object;
}

/** What changed since the last {@link SandboxStore.takeChanges}. */
export interface StoreChanges {
  /** Changed records (their latest state), in the order they first changed. */
  records: StoreChange[];
  removedWatchers: Array<{ orgId: string; id: string }>;
  /** Something changed that was not named (a bare `touch()`): only a whole snapshot is safe. */
  unknown: boolean;
}

interface OrgIndex {
  templates: TemplateRecord[];
  runs: RunRecord[];
  tasks: TaskRecord[];
  userIds: string[];
  groups: GroupRecord[];
  guests: GuestRecord[];
  tags: TagRecord[];
  watchers: WatcherRecord[];
}

/** Read access to the sandbox data, for assertions. Treat every record as read-only. */
export class SandboxStore {
  readonly orgs = new Map<string, OrgRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly clients = new Map<string, ClientRecord>();
  readonly templates = new Map<string, TemplateRecord>();
  readonly runs = new Map<string, RunRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  readonly comments: CommentRecord[] = [];
  readonly #byOrg = new Map<string, OrgIndex>();
  readonly #usersByEmail = new Map<string, UserRecord>();
  #version = 0;
  /** Set by the persistence layer: record what changes (off otherwise, to cost nothing). */
  trackChanges = false;
  #changed = new Map<object, StoreChange>();
  #removedWatchers: Array<{ orgId: string; id: string }> = [];
  #unknownChange = false;

  /** Changes on every mutation (list caches key on it). */
  get version(): number {
    return this.#version;
  }

  /**
   * Marks a mutation. Name the records changed in place (`touch({ kind: 'task', record })`), so
   * the persistence layer writes just those; a bare `touch()` makes it write everything.
   */
  touch(...changes: StoreChange[]): void {
    this.#version++;
    if (!this.trackChanges) return;
    if (changes.length === 0) this.#unknownChange = true;
    for (const change of changes) this.#changed.set(change.record, change);
  }

  /** What changed since the last call (for the persistence layer). */
  takeChanges(): StoreChanges {
    const changes: StoreChanges = {
      records: [...this.#changed.values()],
      removedWatchers: this.#removedWatchers,
      unknown: this.#unknownChange,
    };
    this.#changed = new Map();
    this.#removedWatchers = [];
    this.#unknownChange = false;
    return changes;
  }

  index(orgId: string): OrgIndex {
    let index = this.#byOrg.get(orgId);
    if (!index) {
      index = {
        templates: [],
        runs: [],
        tasks: [],
        userIds: [],
        groups: [],
        guests: [],
        tags: [],
        watchers: [],
      };
      this.#byOrg.set(orgId, index);
    }
    return index;
  }

  userByEmail(email: string): UserRecord | undefined {
    return this.#usersByEmail.get(email.toLowerCase());
  }

  runsOf(orgId: string): readonly RunRecord[] {
    return this.index(orgId).runs;
  }

  tasksOf(orgId: string): readonly TaskRecord[] {
    return this.index(orgId).tasks;
  }

  tasksOfRun(runId: string): TaskRecord[] {
    const run = this.runs.get(runId);
    if (!run) return [];
    return run.taskIds.map((id) => this.tasks.get(id)).filter((t) => t !== undefined);
  }

  commentsOf(taskId: string): CommentRecord[] {
    return this.comments.filter((c) => c.taskId === taskId);
  }

  watchersOf(orgId: string): readonly WatcherRecord[] {
    return this.index(orgId).watchers;
  }

  // writers (the sandbox's own code only)

  putOrg(org: OrgRecord): void {
    this.orgs.set(org.id, org);
    this.index(org.id);
    this.touch({ kind: 'org', record: org });
  }

  putUser(user: UserRecord, orgId: string): void {
    const existing = this.users.get(user.id);
    const record = existing ?? user;
    if (existing) {
      for (const [org, role] of user.roles) existing.roles.set(org, role);
    } else {
      this.users.set(user.id, user);
      this.#usersByEmail.set(user.email.toLowerCase(), user);
    }
    const ids = this.index(orgId).userIds;
    if (!ids.includes(record.id)) ids.push(record.id);
    this.touch({ kind: 'user', record });
  }

  putTemplate(template: TemplateRecord): void {
    this.templates.set(template.id, template);
    this.index(template.orgId).templates.push(template);
    this.touch({ kind: 'template', record: template });
  }

  putRun(run: RunRecord, tasks: TaskRecord[]): void {
    this.runs.set(run.id, run);
    const index = this.index(run.orgId);
    index.runs.push(run);
    for (const task of tasks) {
      this.tasks.set(task.id, task);
      index.tasks.push(task);
    }
    const org = this.orgs.get(run.orgId);
    // a launch numbers the run from its org's counter: the org changed too
    this.touch(
      ...(org ? [{ kind: 'org' as const, record: org }] : []),
      { kind: 'run', record: run },
      ...tasks.map((task) => ({ kind: 'task' as const, record: task })),
    );
  }

  putGroup(group: GroupRecord): void {
    this.index(group.orgId).groups.push(group);
    this.touch({ kind: 'group', record: group });
  }

  putGuest(guest: GuestRecord): void {
    this.index(guest.orgId).guests.push(guest);
    this.touch({ kind: 'guest', record: guest });
  }

  putTag(tag: TagRecord): void {
    this.index(tag.orgId).tags.push(tag);
    this.touch({ kind: 'tag', record: tag });
  }

  putWatcher(watcher: WatcherRecord): void {
    this.index(watcher.orgId).watchers.push(watcher);
    this.touch({ kind: 'watcher', record: watcher });
  }

  removeWatcher(orgId: string, id: string): boolean {
    const list = this.index(orgId).watchers;
    const at = list.findIndex((w) => w.id === id);
    if (at < 0) return false;
    const [removed] = list.splice(at, 1);
    if (removed && this.trackChanges) {
      this.#changed.delete(removed);
      this.#removedWatchers.push({ orgId, id });
    }
    this.#version++;
    return true;
  }

  putComment(comment: CommentRecord): void {
    this.comments.push(comment);
    this.touch({ kind: 'comment', record: comment });
  }
}
