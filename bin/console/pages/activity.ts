/** Activity: what operators did through this console, and every recorded replay. */
import * as z from 'zod';
import {
  type ConsoleContext,
  type ConsoleRequest,
  type ConsoleResponse,
  parseInput,
  queryRecord,
} from '../context.ts';
import { html, query } from '../html.ts';
import { consolePage } from '../layout.ts';
import { replayTable } from './dead-letters.ts';
import { shortTime, stateBadge } from './parts.ts';

const ActivityQuerySchema = z.strictObject({ cursor: z.string().max(2048).optional() });

export async function activityPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  const input = parseInput(ActivityQuerySchema, queryRecord(request.query), 'activity query');
  const replays = await ctx.target.registry().listReplays({
    limit: 50,
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
  const actions = ctx.actions();
  const body = html`
<h2>Actions in this console</h2>
${
  actions.length === 0
    ? html`<p class="muted">No action yet since this console started.</p>`
    : html`<table data-table="actions"><thead><tr><th>At</th><th>By</th><th>Action</th><th>On</th><th>Outcome</th></tr></thead><tbody>${actions.map(
        (a) =>
          html`<tr><td>${shortTime(a.at)}</td><td><code>${a.by}</code></td><td>${a.action}</td><td>${a.subject}</td><td>${stateBadge(a.ok ? 'done' : 'failed')} ${a.outcome}</td></tr>`,
      )}</tbody></table>`
}
<p class="hint">Every action is also written to the console's log. Replays are recorded in the org table and listed below whoever ran them (console or CLI).</p>
<h2>Replays</h2>
${replayTable(ctx, replays.replays)}
${replays.cursor === undefined ? '' : html`<nav class="pager"><a href="${`${ctx.base}/activity${query({ cursor: replays.cursor })}`}" rel="next">older →</a></nav>`}`;
  return consolePage(ctx, { section: 'activity', title: 'Activity' }, body);
}
