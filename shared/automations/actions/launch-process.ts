import type * as z from 'zod';
import type { JsonObject } from '../../orgs/index.ts';
import type { TallyfyRun } from '../../tallyfy/index.ts';
import { ActionInDoubtError, TemplateError } from '../errors.ts';
import type { launchProcessSchema } from '../rule-schema.ts';
import { renderTemplate, renderValue } from '../template.ts';
import { markerNameSuffix, markerTag } from './marker.ts';
import type { ActionEnv, EffectLookup, PreparedAction } from './types.ts';

/** How far before the event reached us an earlier attempt's run may have been created (skew). */
const LOOKBACK_MS = 10 * 60_000;
/**
 * Pages (of 100) a doubt check reads at most. Tallyfy's `q` is a name search, not an exact
 * filter: it should answer one page holding the run, if any; should it ignore `q`, the check
 * stops here rather than read every run of the template.
 */
const LOOKUP_MAX_PAGES = 3;
/** Tallyfy's longest process name. */
const MAX_NAME_LENGTH = 550;

export function prepareLaunchProcess(
  action: z.infer<typeof launchProcessSchema>,
  env: ActionEnv,
): PreparedAction {
  const checklistId = renderTemplate(action.template, env.context).trim();
  if (checklistId === '')
    throw new TemplateError('template', 'launch_process: the template id is empty');
  const rendered = renderTemplate(action.name, env.context).trim();
  if (rendered === '') throw new TemplateError('name', 'launch_process: the process name is empty');
  // the marker ends the name: Tallyfy's run search (`q`) finds it there in one narrow query
  const suffix = markerNameSuffix(env.marker);
  const name = `${rendered.slice(0, MAX_NAME_LENGTH - suffix.length)}${suffix}`;
  const summaryText =
    action.summary === undefined ? '' : renderTemplate(action.summary, env.context);
  const summary = `${summaryText}${summaryText === '' ? '' : '\n\n'}${markerTag(env.marker)}`;
  const prerun =
    action.kickoff === undefined
      ? undefined
      : (renderValue(action.kickoff, env.context) as Record<string, unknown>);
  const carries = (run: TallyfyRun) =>
    run.name.includes(env.marker) ||
    (typeof run.summary === 'string' && run.summary.includes(env.marker));

  return {
    /**
     * `GET …/runs?checklist_id=&q=<marker>&sort=-created_at`: newest first, down to runs created
     * a little before the event reached us, at most {@link LOOKUP_MAX_PAGES} pages. Not found
     * within those bounds is an answer; the page bound reached first is not (in doubt).
     */
    async findEffect(): Promise<EffectLookup> {
      const api = env.tallyfy(env.orgId);
      const sinceMs = Date.parse(env.view.event.receivedAt) - LOOKBACK_MS;
      const runs = api.listRuns(env.orgId, {
        checklist_id: checklistId,
        q: env.marker,
        sort: '-created_at',
      });
      let pages = 0;
      let checked = 0;
      for await (const page of runs.pages()) {
        pages++;
        for (const run of page.data) {
          if (carries(run)) return { found: true, result: { runId: run.id } };
          checked++;
          const created = typeof run.created_at === 'string' ? Date.parse(run.created_at) : NaN;
          if (Number.isFinite(created) && created < sinceMs) return { found: false };
        }
        if (pages < LOOKUP_MAX_PAGES) continue;
        const more =
          page.totalPages === undefined
            ? page.data.length >= page.perPage
            : page.page < page.totalPages;
        if (!more) return { found: false };
        throw new ActionInDoubtError(
          [
            {
              ruleId: env.ruleId,
              actionIndex: env.actionIndex,
              type: 'launch_process',
              marker: env.marker,
            },
          ],
          `the launch may have happened: ${checked} runs of template ${checklistId} were searched for ${env.marker} without finding it, and older ones were not searched`,
        );
      }
      return { found: false };
    },
    async perform(): Promise<JsonObject> {
      const run = await env.tallyfy(env.orgId).launchRun(env.orgId, {
        checklistId,
        name,
        ...(prerun === undefined ? {} : { prerun }),
        extra: { summary },
      });
      return { runId: run.id };
    },
  };
}
