import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { count, json, notFound, type Reply, unprocessable } from './context.ts';
import { isoAt } from './dates.ts';
import { type Filtered, filterRuns, filterTasks } from './filters.ts';
import { addComment, completeTask, launchRun, reopenTask } from './lifecycle.ts';
import { pageReply, readPage } from './pagination.ts';
import {
  renderComment,
  renderGroup,
  renderGuest,
  renderOrg,
  renderRun,
  renderTag,
  renderTask,
  renderTemplate,
  renderThread,
  renderUser,
  renderWatcher,
} from './render.ts';
import type { RouteContext, Router } from './router.ts';
import type { OrgRecord, RunRecord, TaskRecord } from './store.ts';

const FORBIDDEN: Reply = { status: 403, body: { message: 'This action is unauthorized.' } };

function userId(rc: RouteContext): string {
  // routes with scope 'user' only ever see user principals
  return rc.principal.kind === 'user' ? rc.principal.userId : '';
}

function org(rc: RouteContext): OrgRecord {
  // the router gives org handlers an org: this is an invariant check
  if (!rc.org) throw new TypeError('a route without :org reached an org handler');
  return rc.org;
}

function list<T>(rc: RouteContext, items: readonly T[], render: (item: T) => unknown): Reply {
  const page = readPage(rc.query);
  if ('status' in page) return page;
  return pageReply(items, page, render, rc.selfUrl);
}

/** Filtered lists are cached per query until the store changes (reports page through them). */
const CACHE_LIMIT = 512;
const caches = new WeakMap<object, Map<string, { version: number; items: unknown[] }>>();

function cached<T>(rc: RouteContext, key: string, compute: () => Filtered<T>): Filtered<T> {
  let cache = caches.get(rc.sandbox.store);
  if (!cache) {
    cache = new Map();
    caches.set(rc.sandbox.store, cache);
  }
  const query = new URLSearchParams(rc.query);
  query.delete('page');
  query.delete('per_page');
  query.sort();
  const fullKey = `${key}?${query}`;
  const version = rc.sandbox.store.version;
  const hit = cache.get(fullKey);
  if (hit && hit.version === version) return { ok: true, items: hit.items as T[], cacheable: true };
  const result = compute();
  if (result.ok && result.cacheable) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(fullKey, { version, items: result.items });
  }
  return result;
}

function findRun(rc: RouteContext): RunRecord | undefined {
  const run = rc.sandbox.store.runs.get(rc.params.run ?? '');
  return run && run.orgId === org(rc).id ? run : undefined;
}

function findTask(rc: RouteContext, runId?: string): TaskRecord | undefined {
  const task = rc.sandbox.store.tasks.get(rc.params.task ?? '');
  if (!task || task.orgId !== org(rc).id) return undefined;
  return runId === undefined || task.runId === runId ? task : undefined;
}

/**
 * A task as `GET …/tasks/{id}` answers it; `with=threads` includes its comments
 * (`threads: {data: [...]}`, oldest first), as Tallyfy's n8n node reads them.
 */
function taskReply(rc: RouteContext, task: TaskRecord): Reply {
  const includes = (rc.query.get('with') ?? '').split(',').map((w) => w.trim());
  const data: Record<string, unknown> = renderTask(task);
  if (includes.includes('threads')) {
    data.threads = { data: rc.sandbox.store.commentsOf(task.id).map(renderThread) };
  }
  return json(200, { data });
}

function zodErrors(error: z.ZodError): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const field = issue.path.join('.') || 'body';
    const messages = errors[field] ?? [];
    messages.push(
      issue.code === 'invalid_type' && issue.input === undefined
        ? `The ${field} field is required.`
        : issue.message,
    );
    errors[field] = messages;
  }
  return errors;
}

const LaunchSchema = z.object({
  checklist_id: z.string().min(1),
  name: z.string().trim().min(1).max(550),
  summary: z.string().optional(),
  prerun: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

const CompleteSchema = z.object({
  task_id: z.string().min(1),
  /** Sandbox addition: form values by field alias or id, stored as the task's captures. */
  captures: z.record(z.string(), z.string()).optional(),
});

const CommentSchema = z.object({ content: z.string().trim().min(1) });

const WatcherSchema = z.object({
  object_type: z.literal('organization'),
  object_id: z.string().min(1),
  notification_type: z.literal('webhook'),
  frequency: z.string().min(1),
  webhook: z.url({ protocol: /^https?$/ }),
});

const isAdmin = (rc: RouteContext) =>
  rc.sandbox.store.users.get(userId(rc))?.roles.get(org(rc).id) === 'admin';

/** Registers Tallyfy's resource routes. */
export function addResourceRoutes(router: Router): void {
  router.add({
    method: 'GET',
    pattern: '/me',
    scope: 'user',
    handler: (rc) => {
      const user = rc.sandbox.store.users.get(userId(rc));
      return user ? json(200, { data: renderUser(user) }) : notFound();
    },
  });

  router.add({
    method: 'GET',
    pattern: '/me/organizations',
    scope: 'user',
    handler: (rc) => {
      const user = rc.sandbox.store.users.get(userId(rc));
      const orgs = [...(user?.roles.keys() ?? [])]
        .map((id) => rc.sandbox.store.orgs.get(id))
        .filter((o) => o !== undefined);
      return list(rc, orgs, renderOrg);
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/me/tasks',
    scope: 'user',
    handler: (rc) => {
      const me = userId(rc);
      const result = cached(rc, `me-tasks:${org(rc).id}:${me}`, () =>
        filterTasks(rc.sandbox.store.tasksOf(org(rc).id), rc.query, isoAt(rc.nowMs), me),
      );
      return result.ok ? list(rc, result.items, renderTask) : unprocessable(result.errors);
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/checklists',
    scope: 'user',
    handler: (rc) =>
      list(rc, rc.sandbox.store.index(org(rc).id).templates, (t) => renderTemplate(t, false)),
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/checklists/:checklist',
    scope: 'user',
    handler: (rc) => {
      const template = rc.sandbox.store.templates.get(rc.params.checklist ?? '');
      return template && template.orgId === org(rc).id
        ? json(200, { data: renderTemplate(template, true) })
        : notFound('Checklist not found.');
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/runs',
    scope: 'user',
    handler: (rc) => {
      const result = cached(rc, `runs:${org(rc).id}`, () =>
        filterRuns(rc.sandbox.store.runsOf(org(rc).id), rc.query),
      );
      const { store } = rc.sandbox;
      return result.ok
        ? list(rc, result.items, (r) => renderRun(store, r))
        : unprocessable(result.errors);
    },
  });

  router.add({
    method: 'POST',
    pattern: '/organizations/:org/runs',
    scope: 'user',
    handler: (rc) => {
      const parsed = LaunchSchema.safeParse(rc.body);
      if (!parsed.success) return unprocessable(zodErrors(parsed.error));
      const { store } = rc.sandbox;
      const template = store.templates.get(parsed.data.checklist_id);
      if (!template || template.orgId !== org(rc).id) {
        return unprocessable({ checklist_id: ['The selected checklist id is invalid.'] });
      }
      const prerun: Record<string, string> = {};
      const unknown: string[] = [];
      for (const [key, value] of Object.entries(parsed.data.prerun ?? {})) {
        const field = template.prerun.find((f) => f.alias === key || f.id === key);
        if (field) prerun[field.alias] = String(value);
        else unknown.push(key);
      }
      if (unknown.length > 0) {
        return unprocessable(
          Object.fromEntries(unknown.map((k) => [`prerun.${k}`, ['Unknown kick-off field.']])),
        );
      }
      const launched = launchRun(
        store,
        org(rc),
        {
          template,
          name: parsed.data.name,
          ...(parsed.data.summary === undefined ? {} : { summary: parsed.data.summary }),
          prerun,
          launcherId: userId(rc),
        },
        rc.nowMs,
      );
      void rc.sandbox.webhooks.send(launched.events);
      return json(201, { data: renderRun(store, launched.run) });
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/runs/:run',
    scope: 'user',
    handler: (rc) => {
      const run = findRun(rc);
      return run
        ? json(200, { data: renderRun(rc.sandbox.store, run) })
        : notFound('Run not found.');
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/runs/:run/tasks',
    scope: 'user',
    handler: (rc) => {
      const run = findRun(rc);
      if (!run) return notFound('Run not found.');
      const result = filterTasks(rc.sandbox.store.tasksOfRun(run.id), rc.query, isoAt(rc.nowMs));
      return result.ok ? list(rc, result.items, renderTask) : unprocessable(result.errors);
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/runs/:run/tasks/:task',
    scope: 'user',
    handler: (rc) => {
      const run = findRun(rc);
      const task = run && findTask(rc, run.id);
      return task ? taskReply(rc, task) : notFound('Task not found.');
    },
  });

  router.add({
    method: 'POST',
    pattern: '/organizations/:org/runs/:run/completed-tasks',
    scope: 'user',
    handler: (rc) => {
      const run = findRun(rc);
      if (!run) return notFound('Run not found.');
      const parsed = CompleteSchema.safeParse(rc.body);
      if (!parsed.success) return unprocessable(zodErrors(parsed.error));
      const task = rc.sandbox.store.tasks.get(parsed.data.task_id);
      if (!task || task.runId !== run.id) return notFound('Task not found.');
      const result = completeTask(
        rc.sandbox.store,
        org(rc),
        task.id,
        userId(rc),
        rc.nowMs,
        parsed.data.captures,
      );
      if (!result.ok) {
        return result.reason === 'already_completed'
          ? unprocessable({ task_id: ['The task is already completed.'] })
          : notFound('Task not found.');
      }
      void rc.sandbox.webhooks.send(result.events);
      return json(200, { data: renderTask(result.task) });
    },
  });

  router.add({
    method: 'DELETE',
    pattern: '/organizations/:org/runs/:run/completed-tasks/:task',
    scope: 'user',
    handler: (rc) => {
      const run = findRun(rc);
      const task = run && findTask(rc, run.id);
      if (!task) return notFound('Task not found.');
      if (task.status !== 'completed') {
        return unprocessable({ task_id: ['The task is not completed.'] });
      }
      const reopened = reopenTask(rc.sandbox.store, org(rc), task.id, rc.nowMs);
      return reopened ? json(200, { data: renderTask(reopened) }) : notFound('Task not found.');
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/tasks',
    scope: 'user',
    handler: (rc) => {
      const result = cached(rc, `tasks:${org(rc).id}`, () =>
        filterTasks(rc.sandbox.store.tasksOf(org(rc).id), rc.query, isoAt(rc.nowMs)),
      );
      return result.ok ? list(rc, result.items, renderTask) : unprocessable(result.errors);
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/tasks/:task',
    scope: 'user',
    handler: (rc) => {
      const task = findTask(rc);
      return task ? taskReply(rc, task) : notFound('Task not found.');
    },
  });

  router.add({
    method: 'POST',
    pattern: '/organizations/:org/tasks/:task/comment',
    scope: 'user',
    handler: (rc) => {
      const task = findTask(rc);
      if (!task) return notFound('Task not found.');
      const parsed = CommentSchema.safeParse(rc.body);
      if (!parsed.success) return unprocessable(zodErrors(parsed.error));
      const { comment, events } = addComment(
        rc.sandbox.store,
        org(rc),
        task,
        userId(rc),
        parsed.data.content,
        rc.nowMs,
      );
      void rc.sandbox.webhooks.send(events);
      return json(201, { data: renderComment(comment) });
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/users',
    scope: 'any',
    handler: (rc) => {
      const { store } = rc.sandbox;
      const id = org(rc).id;
      const users = store
        .index(id)
        .userIds.map((u) => store.users.get(u))
        .filter((u) => !!u);
      return list(rc, users, (u) => renderUser(u, id));
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/groups',
    scope: 'any',
    handler: (rc) => list(rc, rc.sandbox.store.index(org(rc).id).groups, renderGroup),
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/guests',
    scope: 'any',
    handler: (rc) => list(rc, rc.sandbox.store.index(org(rc).id).guests, renderGuest),
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/tags',
    scope: 'any',
    handler: (rc) => list(rc, rc.sandbox.store.index(org(rc).id).tags, renderTag),
  });

  router.add({
    method: 'POST',
    pattern: '/organizations/:org/users/:user/add-watcher',
    scope: 'user',
    handler: (rc) => {
      if (rc.params.user !== userId(rc) || !isAdmin(rc)) return FORBIDDEN;
      const parsed = WatcherSchema.safeParse(rc.body);
      if (!parsed.success) return unprocessable(zodErrors(parsed.error));
      if (parsed.data.object_id !== org(rc).id) {
        return unprocessable({ object_id: ['The object id must be the organization id.'] });
      }
      const watcher = {
        id: randomUUID().replaceAll('-', ''),
        orgId: org(rc).id,
        userId: userId(rc),
        objectType: parsed.data.object_type,
        objectId: parsed.data.object_id,
        notificationType: parsed.data.notification_type,
        frequency: parsed.data.frequency,
        webhook: parsed.data.webhook,
        createdAt: isoAt(rc.nowMs),
      };
      rc.sandbox.store.putWatcher(watcher);
      return json(201, { data: renderWatcher(watcher) });
    },
  });

  router.add({
    method: 'GET',
    pattern: '/organizations/:org/watchers',
    scope: 'user',
    handler: (rc) => {
      const notification = rc.query.get('notification');
      const watchers = rc.sandbox.store
        .watchersOf(org(rc).id)
        .filter((w) => notification === null || w.notificationType === notification);
      return list(rc, watchers, renderWatcher);
    },
  });

  router.add({
    method: 'DELETE',
    pattern: '/organizations/:org/remove-watcher/:watcher',
    scope: 'user',
    handler: (rc) => {
      if (!isAdmin(rc)) return FORBIDDEN;
      return rc.sandbox.store.removeWatcher(org(rc).id, rc.params.watcher ?? '')
        ? { status: 204 }
        : notFound('Watcher not found.');
    },
  });

  router.add({
    method: 'POST',
    pattern: '/applications/:org/users/:email/token',
    scope: 'app',
    handler: (rc) => {
      const { store, tokens, lifetimes } = rc.sandbox;
      const user = store.userByEmail(rc.params.email ?? '');
      if (!user?.roles.has(org(rc).id)) return notFound('User not found.');
      const accessToken = tokens.issueAccess(
        { kind: 'user', userId: user.id, tokenKind: 'app_user' },
        rc.nowMs + lifetimes.appUserSeconds * 1000,
      );
      count(rc.sandbox.stats.grants, 'app_user');
      return json(200, {
        token_type: 'Bearer',
        expires_in: lifetimes.appUserSeconds,
        access_token: accessToken,
      });
    },
  });
}
