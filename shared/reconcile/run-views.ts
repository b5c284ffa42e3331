/**
 * The API reads behind a recovered event's payload ({@link RunView}): the run, its tasks, its
 * template, and the org's users and tags, each read once per reconciler run and org (a burst of
 * lost completions of one run costs its reads once), every call within the run's rate-limit
 * budget (a `Retry-After` that fits is waited out in full).
 */
import type { Logger } from '../observability/index.ts';
import {
  type TallyfyApi,
  TallyfyNotFoundError,
  type TallyfyRun,
  type TallyfyTag,
  type TallyfyUser,
  type WaitBudget,
  withRateLimitWaits,
} from '../tallyfy/index.ts';
import type { WebhookDateFormat } from './keys.ts';
import type { RunView } from './payloads.ts';

/** The Tallyfy calls a recovered payload needs. */
export type RunViewApi = Pick<
  TallyfyApi,
  'getRun' | 'listRunTasks' | 'getChecklist' | 'listUsers' | 'listTags'
>;

/** Reads run views of one org, caching each read for the reconciler run. */
export interface RunViews {
  /**
   * The view of run `runId` (`known`: the run as a list already gave it, saving its GET).
   * `undefined` when the run no longer exists (404): the event is then sent as the API lists it.
   */
  forRun(runId: string, known?: TallyfyRun): Promise<RunView | undefined>;
}

/**
 * @example
 * const views = createRunViews({ api, orgId, format: 'iso', budget, logger });
 * const view = await views.forRun(task.run_id);
 */
export function createRunViews(options: {
  api: RunViewApi;
  orgId: string;
  format: WebhookDateFormat;
  budget: WaitBudget;
  logger: Logger;
}): RunViews {
  const { api, orgId, format, budget, logger } = options;
  const call = <T>(read: () => Promise<T>) => withRateLimitWaits(read, budget);
  const once = <T>(load: () => Promise<T>) => {
    let value: Promise<T> | undefined;
    return () => {
      value ??= load();
      // a failed read is not kept: the next event asks again
      value.catch(() => {
        value = undefined;
      });
      return value;
    };
  };
  // who launched and completed, and the tag names: without them the people and tags carry ids
  // only, which is what a webhook of a deleted user shows too; a run that cannot read them is
  // not held back for it
  const directory = <T extends { id: string }>(what: string, list: () => Promise<T[]>) =>
    once(async () => {
      try {
        return new Map((await call(list)).map((item) => [item.id, item] as const));
      } catch (error) {
        logger.warn(`recovered events carry ${what} ids only: the list could not be read`, {
          orgId,
          error,
        });
        return new Map<string, T>();
      }
    });
  const users = directory<TallyfyUser>('user', () => api.listUsers(orgId).all());
  const tags = directory<TallyfyTag>('tag', () => api.listTags(orgId).all());
  const templates = new Map<
    string,
    Promise<Awaited<ReturnType<RunViewApi['getChecklist']>> | undefined>
  >();
  const runs = new Map<string, Promise<RunView | undefined>>();

  const template = (checklistId: string) => {
    let value = templates.get(checklistId);
    if (value === undefined) {
      value = call(() => api.getChecklist(orgId, checklistId)).catch((error: unknown) => {
        // a template deleted since: the payload names it as the run does (id and title)
        if (error instanceof TallyfyNotFoundError) return undefined;
        templates.delete(checklistId);
        throw error;
      });
      templates.set(checklistId, value);
    }
    return value;
  };

  return {
    forRun(runId, known) {
      let view = runs.get(runId);
      if (view === undefined) {
        view = (async (): Promise<RunView | undefined> => {
          let run: TallyfyRun;
          try {
            run = known ?? (await call(() => api.getRun(orgId, runId)));
          } catch (error) {
            if (error instanceof TallyfyNotFoundError) return undefined;
            throw error;
          }
          const [tasks, checklist, userMap, tagMap] = await Promise.all([
            call(() => api.listRunTasks(orgId, run.id).all()),
            typeof run.checklist_id === 'string' && run.checklist_id !== ''
              ? template(run.checklist_id)
              : Promise.resolve(undefined),
            users(),
            tags(),
          ]);
          return { orgId, run, tasks, template: checklist, users: userMap, tags: tagMap, format };
        })();
        view.catch(() => runs.delete(runId));
        runs.set(runId, view);
      }
      return view;
    },
  };
}
