import type * as z from 'zod';
import type { Secret } from '../secret.ts';
import type { Query, TallyfyClient } from './client.ts';
import { type PageOptions, Paginated } from './pagination.ts';
import {
  checklistSchema,
  commentSchema,
  groupSchema,
  guestSchema,
  organizationSchema,
  runSchema,
  single,
  type TallyfyChecklist,
  type TallyfyComment,
  type TallyfyGroup,
  type TallyfyGuest,
  type TallyfyOrganization,
  type TallyfyRun,
  type TallyfyTag,
  type TallyfyTask,
  type TallyfyUser,
  type TallyfyWatcher,
  tagSchema,
  taskSchema,
  taskWithThreadsSchema,
  userSchema,
  watcherSchema,
} from './schemas.ts';

/** Filters of `GET …/runs`, as Tallyfy names them (`status`, `checklist_id`, `sort`…). */
export type RunFilters = Query;
/** Filters of `GET …/tasks` (`status`, `owner`…). */
export type TaskFilters = Query;

/** What {@link TallyfyApi.launchRun} sends. */
export interface LaunchRunInput {
  checklistId: string;
  name: string;
  /** Kick-off form values, by field id or alias, as Tallyfy's `prerun`. */
  prerun?: Readonly<Record<string, unknown>>;
  /** Further launch fields Tallyfy accepts (`summary`, `owner_id`, `tags`…), sent as given. */
  extra?: Readonly<Record<string, unknown>>;
}

const seg = encodeURIComponent;

/**
 * Tallyfy's operations we use, typed and validated. Names follow the API: templates are
 * `checklists`, processes are `runs`.
 *
 * @example
 * const api = new TallyfyApi(createTallyfyClient({ auth: staticToken(token) }));
 * const me = await api.me();
 * for await (const run of api.listRuns(orgId, { status: 'active' })) console.log(run.name);
 */
export class TallyfyApi {
  readonly client: TallyfyClient;
  readonly #perPage: number | undefined;

  /** @param options.perPage page size of every list (1..100). @default 100 */
  constructor(client: TallyfyClient, options: { perPage?: number } = {}) {
    this.client = client;
    this.#perPage = options.perPage;
  }

  /** `GET /me`: the token's user. */
  me(): Promise<TallyfyUser> {
    return this.client.get('/me', { schema: single(userSchema) });
  }

  /** `GET /me/organizations`: the organisations the token's user belongs to. */
  myOrganizations(): Paginated<TallyfyOrganization> {
    return this.#list('/me/organizations', {}, organizationSchema);
  }

  /** `GET /organizations/{org}/me/tasks`: the token user's tasks. */
  myTasks(orgId: string, filters: TaskFilters = {}): Paginated<TallyfyTask> {
    return this.#list(`/organizations/${seg(orgId)}/me/tasks`, filters, taskSchema);
  }

  /** `GET /organizations/{org}/checklists`: templates. */
  listChecklists(orgId: string, filters: Query = {}): Paginated<TallyfyChecklist> {
    return this.#list(`/organizations/${seg(orgId)}/checklists`, filters, checklistSchema);
  }

  /** `GET /organizations/{org}/checklists/{id}`: a template with its steps. */
  getChecklist(orgId: string, checklistId: string, query: Query = {}): Promise<TallyfyChecklist> {
    return this.client.get(`/organizations/${seg(orgId)}/checklists/${seg(checklistId)}`, {
      query,
      schema: single(checklistSchema),
    });
  }

  /** `GET /organizations/{org}/runs`: processes. */
  listRuns(orgId: string, filters: RunFilters = {}): Paginated<TallyfyRun> {
    return this.#list(`/organizations/${seg(orgId)}/runs`, filters, runSchema);
  }

  /** `GET /organizations/{org}/runs/{id}`. */
  getRun(orgId: string, runId: string, query: Query = {}): Promise<TallyfyRun> {
    return this.client.get(`/organizations/${seg(orgId)}/runs/${seg(runId)}`, {
      query,
      schema: single(runSchema),
    });
  }

  /**
   * `POST /organizations/{org}/runs`: launches a process. Not idempotent: never retried on 5xx
   * or a lost connection (guard it with your own idempotency key).
   */
  launchRun(orgId: string, input: LaunchRunInput): Promise<TallyfyRun> {
    return this.client.post(`/organizations/${seg(orgId)}/runs`, {
      body: {
        ...input.extra,
        checklist_id: input.checklistId,
        name: input.name,
        ...(input.prerun === undefined ? {} : { prerun: input.prerun }),
      },
      schema: single(runSchema),
    });
  }

  /** `GET /organizations/{org}/tasks`: tasks across the org. */
  listTasks(orgId: string, filters: TaskFilters = {}): Paginated<TallyfyTask> {
    return this.#list(`/organizations/${seg(orgId)}/tasks`, filters, taskSchema);
  }

  /** `GET /organizations/{org}/runs/{run}/tasks`: the tasks of one process. */
  listRunTasks(orgId: string, runId: string, filters: TaskFilters = {}): Paginated<TallyfyTask> {
    return this.#list(`/organizations/${seg(orgId)}/runs/${seg(runId)}/tasks`, filters, taskSchema);
  }

  /**
   * `GET /organizations/{org}/runs/{run}/tasks/{id}` when `runId` is given, else
   * `GET /organizations/{org}/tasks/{id}`.
   */
  getTask(orgId: string, taskId: string, runId?: string): Promise<TallyfyTask> {
    const path =
      runId === undefined
        ? `/organizations/${seg(orgId)}/tasks/${seg(taskId)}`
        : `/organizations/${seg(orgId)}/runs/${seg(runId)}/tasks/${seg(taskId)}`;
    return this.client.get(path, { schema: single(taskSchema) });
  }

  /** `POST /organizations/{org}/runs/{run}/completed-tasks` `{task_id}`. Not retried on 5xx. */
  completeTask(orgId: string, runId: string, taskId: string): Promise<TallyfyTask> {
    return this.client.post(`/organizations/${seg(orgId)}/runs/${seg(runId)}/completed-tasks`, {
      body: { task_id: taskId },
      schema: single(taskSchema),
    });
  }

  /**
   * A task's comments, oldest first: `GET /organizations/{org}/runs/{run}/tasks/{id}?with=threads`
   * when `runId` is given, else `GET /organizations/{org}/tasks/{id}?with=threads` (Tallyfy has
   * no comments list of its own; its n8n node reads them this way). One call, not paginated.
   */
  async listTaskComments(orgId: string, taskId: string, runId?: string): Promise<TallyfyComment[]> {
    const path =
      runId === undefined
        ? `/organizations/${seg(orgId)}/tasks/${seg(taskId)}`
        : `/organizations/${seg(orgId)}/runs/${seg(runId)}/tasks/${seg(taskId)}`;
    const task = await this.client.get(path, {
      query: { with: 'threads' },
      schema: single(taskWithThreadsSchema),
    });
    return task.threads;
  }

  /** `POST /organizations/{org}/tasks/{task}/comment` `{content}`. Not retried on 5xx. */
  commentOnTask(orgId: string, taskId: string, content: string): Promise<TallyfyComment> {
    return this.client.post(`/organizations/${seg(orgId)}/tasks/${seg(taskId)}/comment`, {
      body: { content },
      schema: single(commentSchema),
    });
  }

  /** `GET /organizations/{org}/users`. */
  listUsers(orgId: string, query: Query = {}): Paginated<TallyfyUser> {
    return this.#list(`/organizations/${seg(orgId)}/users`, query, userSchema);
  }

  /** `GET /organizations/{org}/groups`. */
  listGroups(orgId: string, query: Query = {}): Paginated<TallyfyGroup> {
    return this.#list(`/organizations/${seg(orgId)}/groups`, query, groupSchema);
  }

  /** `GET /organizations/{org}/guests`. */
  listGuests(orgId: string, query: Query = {}): Paginated<TallyfyGuest> {
    return this.#list(`/organizations/${seg(orgId)}/guests`, query, guestSchema);
  }

  /** `GET /organizations/{org}/tags`. */
  listTags(orgId: string, query: Query = {}): Paginated<TallyfyTag> {
    return this.#list(`/organizations/${seg(orgId)}/tags`, query, tagSchema);
  }

  /**
   * Subscribes `url` to the org's events (org-level watcher webhook, org admins only):
   * `POST /organizations/{org}/users/{me}/add-watcher`. `meUserId` is the caller's own user id.
   */
  addWebhookWatcher(orgId: string, meUserId: string, url: Secret): Promise<TallyfyWatcher> {
    return this.client.post(`/organizations/${seg(orgId)}/users/${seg(meUserId)}/add-watcher`, {
      body: {
        object_type: 'organization',
        object_id: orgId,
        notification_type: 'webhook',
        frequency: 'electric',
        webhook: url,
      },
      schema: single(watcherSchema),
    });
  }

  /** `GET /organizations/{org}/watchers?notification=webhook`. */
  listWebhookWatchers(orgId: string): Paginated<TallyfyWatcher> {
    return this.#list(
      `/organizations/${seg(orgId)}/watchers`,
      { notification: 'webhook' },
      watcherSchema,
    );
  }

  /** `DELETE /organizations/{org}/remove-watcher/{id}`. */
  async removeWatcher(orgId: string, watcherId: string): Promise<void> {
    await this.client.delete(`/organizations/${seg(orgId)}/remove-watcher/${seg(watcherId)}`);
  }

  #list<S extends z.ZodType>(path: string, query: Query, itemSchema: S): Paginated<z.output<S>> {
    const options: PageOptions<z.output<S>> = {
      itemSchema: itemSchema as z.ZodType<z.output<S>>,
      ...(this.#perPage === undefined ? {} : { perPage: this.#perPage }),
    };
    return new Paginated((startPage) =>
      this.client.pages(path, query, startPage === undefined ? options : { ...options, startPage }),
    );
  }
}
