import { isoAt } from './dates.ts';
import { hexId, seededRandom } from './prng.ts';
import type {
  OrgRecord,
  RunRecord,
  SandboxStore,
  StepRecord,
  TaskRecord,
  TemplateRecord,
  UserRecord,
} from './store.ts';
import type { SeedSpec, SeedSpecOrg, UserCredentials } from './types.ts';

export const DEFAULT_SEED_NOW = '2026-11-22T00:00:00.000Z';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface GeneratedOrg {
  org: OrgRecord;
  /** The org admin, who can use the password grant (client of `DEMO_PASSWORD_CLIENT`). */
  admin: UserCredentials;
  users: UserRecord[];
  templates: TemplateRecord[];
  /** Runs in ascending `createdAt` order. */
  runs: RunRecord[];
  /** Tasks run by run, in position order. */
  tasks: TaskRecord[];
}

export interface GeneratedDataset {
  now: string;
  orgs: GeneratedOrg[];
}

function orgSeed(seed: number, orgId: string, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of `${index}:${orgId}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

function range(random: () => number, spec: number | [number, number]): number {
  if (typeof spec === 'number') return spec;
  const [min, max] = spec;
  return min + Math.floor(random() * (max - min + 1));
}

/** Rounds to the second, as Tallyfy's timestamps are. */
const sec = (ms: number) => Math.floor(ms / 1000) * 1000;

function generateOrg(spec: SeedSpecOrg, index: number, seed: number, nowMs: number): GeneratedOrg {
  const random = seededRandom(orgSeed(seed, spec.id, index));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const createdAt = isoAt(nowMs - 400 * DAY);
  const org: OrgRecord = {
    id: spec.id,
    name: spec.name ?? `Org ${spec.id}`,
    timezone: spec.timezone ?? 'UTC',
    dateFormat: 'iso',
    webhookUrl: null,
    nextIncrementId: 1,
    createdAt,
  };

  const userCount = Math.max(1, spec.users ?? 10);
  const users: UserRecord[] = [];
  for (let i = 0; i < userCount; i++) {
    const first = i === 0 ? 'Admin' : `User${i}`;
    users.push({
      id: `${spec.id}-u${i}`,
      email: i === 0 ? `admin@${spec.id}.example` : `user${i}@${spec.id}.example`,
      password: i === 0 ? `sandbox-${spec.id}` : `password-${spec.id}-${i}`,
      firstName: first,
      lastName: spec.id,
      fullName: `${first} ${spec.id}`,
      roles: new Map([[spec.id, i === 0 ? 'admin' : 'standard']]),
      createdAt,
    });
  }
  const userIds = users.map((u) => u.id);

  const maxTasks = Array.isArray(spec.tasksPerProcess)
    ? spec.tasksPerProcess[1]
    : spec.tasksPerProcess;
  const templates: TemplateRecord[] = [];
  for (let i = 0; i < Math.max(1, spec.templates); i++) {
    const id = hexId(random);
    const steps: StepRecord[] = [];
    for (let p = 1; p <= maxTasks; p++) {
      steps.push({
        id: hexId(random),
        alias: `step-${p}`,
        title: `Step ${p}`,
        summary: '',
        position: p,
        deadlineOffsetHours: 24 * p,
        assigneeIds: [pick(userIds)],
        guestEmails: [],
        fields: [],
        webhookUrl: null,
      });
    }
    templates.push({
      id,
      orgId: spec.id,
      title: `Template ${i + 1}`,
      alias: `template-${i + 1}`,
      summary: '',
      prerun: [],
      steps,
      webhookUrl: null,
      createdAt,
      updatedAt: createdAt,
    });
  }

  const overdueRatio = spec.overdueRatio ?? 0.2;
  const completedRatio = spec.completedRatio ?? 0.4;
  const windowMs = 90 * DAY;
  const runs: RunRecord[] = [];
  const tasks: TaskRecord[] = [];
  for (let r = 0; r < spec.processes; r++) {
    const template = pick(templates);
    const taskCount = Math.max(1, Math.min(maxTasks, range(random, spec.tasksPerProcess)));
    // monotonic creation times: runs come out in ascending createdAt order
    const createdMs = sec(nowMs - windowMs + ((r + random()) / spec.processes) * windowMs);
    const spanMs = nowMs - createdMs;
    const launcher = pick(userIds);
    const completed = random() < completedRatio;
    const done = completed ? taskCount : Math.floor(random() * taskCount);
    const runId = hexId(random);
    const runTasks: TaskRecord[] = [];
    let lastCompletedMs = createdMs;
    for (let p = 1; p <= taskCount; p++) {
      const step = template.steps[p - 1] as StepRecord;
      const owner = step.assigneeIds[0] ?? launcher;
      let status: TaskRecord['status'] = 'not-started';
      let completedAtMs: number | null = null;
      let completedBy: string | null = null;
      let deadlineMs = sec(createdMs + p * DAY + random() * DAY);
      if (p <= done) {
        status = 'completed';
        completedAtMs = Math.max(
          lastCompletedMs,
          sec(createdMs + (spanMs * (p - random() * 0.5)) / (taskCount + 1)),
        );
        lastCompletedMs = completedAtMs;
        completedBy = random() < 0.8 ? owner : pick(userIds);
      } else {
        if (p === done + 1 && random() < 0.5) status = 'in-progress';
        deadlineMs =
          random() < overdueRatio
            ? sec(createdMs + random() * (spanMs - 1000))
            : sec(nowMs + HOUR + random() * 14 * DAY);
      }
      runTasks.push({
        id: hexId(random),
        orgId: spec.id,
        runId,
        checklistId: template.id,
        stepId: step.id,
        alias: step.alias,
        title: step.title,
        summary: '',
        position: p,
        status,
        deadline: isoAt(deadlineMs),
        ownerIds: [owner],
        guestEmails: [],
        captures: {},
        createdAt: isoAt(createdMs),
        startedAt: isoAt(createdMs),
        updatedAt: isoAt(completedAtMs ?? createdMs),
        completedAt: completedAtMs === null ? null : isoAt(completedAtMs),
        completedBy,
      });
    }
    runs.push({
      id: runId,
      orgId: spec.id,
      incrementId: org.nextIncrementId++,
      checklistId: template.id,
      checklistTitle: template.title,
      name: `${template.title} #${r + 1}`,
      summary: '',
      status: completed ? 'completed' : 'active',
      startedBy: launcher,
      ownerId: launcher,
      prerun: {},
      tagIds: [],
      createdAt: isoAt(createdMs),
      startedAt: isoAt(createdMs),
      updatedAt: isoAt(lastCompletedMs),
      completedAt: completed ? isoAt(lastCompletedMs) : null,
      taskIds: runTasks.map((t) => t.id),
    });
    tasks.push(...runTasks);
  }

  const admin = users[0] as UserRecord;
  return {
    org,
    admin: { id: admin.id, email: admin.email, password: admin.password, fullName: admin.fullName },
    users,
    templates,
    runs,
    tasks,
  };
}

/**
 * A deterministic data set: the same spec gives the same ids, timestamps, statuses,
 * deadlines and assignees. Use it in tests to compute the figures a report should show.
 *
 * @example
 * const data = generateDataset({ seed: 7, orgs: [{ id: 'o1', templates: 2, processes: 100, tasksPerProcess: [2, 5] }] });
 * const overdue = data.orgs[0].tasks.filter((t) => t.status !== 'completed' && t.deadline < data.now);
 */
export function generateDataset(spec: SeedSpec): GeneratedDataset {
  const now = spec.now ?? DEFAULT_SEED_NOW;
  const nowMs = Date.parse(now);
  if (Number.isNaN(nowMs)) throw new TypeError(`SeedSpec.now is not a date: ${spec.now}`);
  return {
    now: isoAt(nowMs),
    orgs: spec.orgs.map((org, i) => generateOrg(org, i, spec.seed, nowMs)),
  };
}

/** Puts a generated data set into a store. */
export function loadDataset(store: SandboxStore, data: GeneratedDataset): void {
  for (const g of data.orgs) {
    store.putOrg(g.org);
    for (const user of g.users) store.putUser(user, g.org.id);
    for (const template of g.templates) store.putTemplate(template);
    let at = 0;
    for (const run of g.runs) {
      const runTasks = g.tasks.slice(at, at + run.taskIds.length);
      at += run.taskIds.length;
      store.putRun(run, runTasks);
    }
  }
}
