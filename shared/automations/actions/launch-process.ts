import type * as z from 'zod';
import type { JsonObject } from '../../orgs/index.ts';
import type { TallyfyApi, TallyfyRun } from '../../tallyfy/index.ts';
import { TemplateError } from '../errors.ts';
import type { launchProcessSchema } from '../rule-schema.ts';
import { renderTemplate, renderValue } from '../template.ts';
import type { ActionEnv, PreparedAction } from './types.ts';

/** How far before the event's arrival an earlier attempt's run may have been created (skew). */
const LOOKBACK_MS = 10 * 60_000;

/** The summary line that carries the marker: `[automation tsf-…]`. */
export const markerTag = (marker: string): string => `[automation ${marker}]`;

/**
 * Looks for a run an earlier attempt launched: newest first among the template's runs, down to
 * runs created a little before the event reached us; the marker is in the summary (or name).
 */
async function findLaunched(
  api: TallyfyApi,
  orgId: string,
  checklistId: string,
  marker: string,
  sinceMs: number,
): Promise<TallyfyRun | undefined> {
  const tag = markerTag(marker);
  for await (const run of api.listRuns(orgId, { checklist_id: checklistId, sort: '-created_at' })) {
    const summary = typeof run.summary === 'string' ? run.summary : '';
    if (summary.includes(tag) || run.name.includes(tag)) return run;
    const created = typeof run.created_at === 'string' ? Date.parse(run.created_at) : Number.NaN;
    if (Number.isFinite(created) && created < sinceMs) return undefined;
  }
  return undefined;
}

export function prepareLaunchProcess(
  action: z.infer<typeof launchProcessSchema>,
  env: ActionEnv,
): PreparedAction {
  const checklistId = renderTemplate(action.template, env.context).trim();
  if (checklistId === '')
    throw new TemplateError('template', 'launch_process: the template id is empty');
  const name = renderTemplate(action.name, env.context).trim().slice(0, 550);
  if (name === '') throw new TemplateError('name', 'launch_process: the process name is empty');
  const summaryText =
    action.summary === undefined ? '' : renderTemplate(action.summary, env.context);
  const summary = `${summaryText}${summaryText === '' ? '' : '\n\n'}${markerTag(env.marker)}`;
  const prerun =
    action.kickoff === undefined
      ? undefined
      : (renderValue(action.kickoff, env.context) as Record<string, unknown>);

  return {
    async run(inDoubt): Promise<JsonObject> {
      const api = env.tallyfy(env.orgId);
      if (inDoubt) {
        const since = Date.parse(env.view.event.receivedAt) - LOOKBACK_MS;
        const found = await findLaunched(api, env.orgId, checklistId, env.marker, since);
        if (found) return { runId: found.id, recovered: true };
      }
      const run = await api.launchRun(env.orgId, {
        checklistId,
        name,
        ...(prerun === undefined ? {} : { prerun }),
        extra: { summary },
      });
      return { runId: run.id };
    },
  };
}
