/**
 * Event flow: received, recovered, processed and dead-lettered per hour (24 h) and per day
 * (14 days) from the registry's hourly counters (one Query each view, never a scan), and the
 * latest finished events with what each rule's actions did.
 */
import * as z from 'zod';
import { createLimiter } from '../../../shared/async.ts';
import { EVENT_TYPES } from '../../../shared/events/index.ts';
import {
  type ActionRecord,
  type EventOutcome,
  hourOf,
  OrgIdSchema,
} from '../../../shared/orgs/index.ts';
import { flowBuckets, flowChart, renderChart } from '../../../shared/reports/index.ts';
import {
  type ConsoleContext,
  type ConsoleRequest,
  type ConsoleResponse,
  parseInput,
  queryRecord,
} from '../context.ts';
import { type Html, html, query, trusted } from '../html.ts';
import { consolePage } from '../layout.ts';
import { shortTime, stateBadge } from './parts.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The bus publication's action record (shared/automations `BUS_RECORD_RULE_ID`). */
const BUS_RULE = '_bus';

const EventsQuerySchema = z.strictObject({
  org: OrgIdSchema.optional(),
  type: z.enum(EVENT_TYPES).optional(),
  cursor: z.string().max(2048).optional(),
});

/** What each rule's actions did for one event, from its action records. */
export function ruleOutcomes(records: readonly ActionRecord[]): {
  rules: { ruleId: string; done: number; started: number }[];
  published: boolean;
} {
  const rules = new Map<string, { ruleId: string; done: number; started: number }>();
  let published = false;
  for (const record of records) {
    if (record.ruleId === BUS_RULE) {
      published ||= record.status === 'done';
      continue;
    }
    let rule = rules.get(record.ruleId);
    if (rule === undefined) {
      rule = { ruleId: record.ruleId, done: 0, started: 0 };
      rules.set(record.ruleId, rule);
    }
    if (record.status === 'done') rule.done++;
    else rule.started++;
  }
  return { rules: [...rules.values()], published };
}

export async function eventsPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  const input = parseInput(EventsQuerySchema, queryRecord(request.query), 'event flow query');
  const registry = ctx.target.registry();
  const now = ctx.clock();
  const dailyFrom = Math.floor(now / DAY_MS) * DAY_MS - 13 * DAY_MS;
  const hourlyFrom = Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS;
  // one Query for both charts: the hours of the last 14 days
  const flow = await registry.readEventFlow({
    ...(input.org === undefined ? {} : { orgId: input.org }),
    sinceHour: hourOf(dailyFrom),
    untilHour: hourOf(now),
  });
  const hourly = flowBuckets(flow, {
    bucket: 'hour',
    fromMs: hourlyFrom,
    count: 24,
    type: input.type,
  });
  const daily = flowBuckets(flow, {
    bucket: 'day',
    fromMs: dailyFrom,
    count: 14,
    type: input.type,
  });
  const scope = `${input.org ?? 'all orgs'}${input.type === undefined ? '' : `, ${input.type}`}`;

  const outcomes = await registry.listEventOutcomes({
    ...(input.org === undefined ? {} : { orgId: input.org }),
    ...(input.type === undefined ? {} : { type: input.type }),
    limit: 50,
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
  // the rule outcomes of the page's events: one Query each, a few at a time
  const limit = createLimiter(8);
  const actions = await Promise.all(
    outcomes.outcomes.map((outcome) =>
      // an event whose outcomes cannot be read is listed without them
      limit(() => registry.listActions(outcome.dedupeKey).catch(() => undefined)),
    ),
  );

  const filterLink = (params: Record<string, string | undefined>) =>
    `${ctx.base}/events${query({ org: input.org, type: input.type, ...params })}`;
  const body = html`
<form class="filters" method="get" action="${ctx.base}/events">
<label>Org <input name="org" value="${input.org ?? ''}" placeholder="all orgs" maxlength="128"></label>
<label>Type <select name="type"><option value="">any</option>${EVENT_TYPES.map(
    (type) =>
      html`<option value="${type}"${type === input.type ? html` selected` : ''}>${type}</option>`,
  )}</select></label>
<button type="submit" class="secondary">Show</button>
</form>
<div class="grid2">
<section class="panel">${trusted(renderChart(flowChart('flow-hourly', `Last 24 hours (${scope})`, hourly)))}</section>
<section class="panel">${trusted(renderChart(flowChart('flow-daily', `Last 14 days (${scope})`, daily)))}</section>
</div>
<p class="hint">Received: events first claimed from a webhook. Recovered: events the reconciler found through the API because their webhook never arrived. Processed / dead-lettered: events the worker finished. Hourly counters kept ${flow.epoch === null ? '(none yet)' : `since ${flow.epoch}:00 UTC`}.</p>
<h2>Latest events (${scope})</h2>
<table data-table="events">
<thead><tr><th>Finished</th><th>Org</th><th>Type</th><th>Subject</th><th>Origin</th><th>Outcome</th><th>Rules</th></tr></thead>
<tbody>
${outcomes.outcomes.map((outcome, index) => eventRow(ctx, outcome, actions[index]))}
</tbody>
</table>
${outcomes.outcomes.length === 0 ? html`<p class="muted">No finished events${input.org === undefined && input.type === undefined ? '' : ' match'} in the last 14 days.</p>` : ''}
${outcomes.cursor === undefined ? '' : html`<nav class="pager"><a href="${filterLink({ cursor: outcomes.cursor })}" rel="next">older →</a></nav>`}
`;
  return consolePage(ctx, { section: 'events', title: 'Event flow' }, body);
}

function eventRow(
  ctx: ConsoleContext,
  outcome: EventOutcome,
  records: readonly ActionRecord[] | undefined,
): Html {
  const rules =
    records === undefined
      ? html`<span class="muted">unknown (records unreadable)</span>`
      : records.length === 0
        ? html`<span class="muted">${outcome.status === 'done' ? 'no rule matched' : 'none ran'}</span>`
        : (() => {
            const summary = ruleOutcomes(records);
            if (summary.rules.length === 0) {
              return html`<span class="muted">no rule matched</span>${summary.published ? html`<div class="muted">published to the bus</div>` : ''}`;
            }
            return html`${summary.rules.map(
              (rule) =>
                html`<div data-rule="${rule.ruleId}"><code>${rule.ruleId}</code>: ${rule.done} done${rule.started > 0 ? html`, <b>${rule.started} in doubt</b>` : ''}</div>`,
            )}${summary.published ? html`<div class="muted">published to the bus</div>` : ''}`;
          })();
  return html`<tr data-event="${outcome.dedupeKey}" data-status="${outcome.status}">
<td>${shortTime(outcome.finishedAt)}</td>
<td><a href="${ctx.base}/events${query({ org: outcome.orgId })}"><code>${outcome.orgId}</code></a></td>
<td>${outcome.type}</td>
<td>${outcome.subject === null ? '—' : html`<code>${outcome.subject}</code>`}</td>
<td>${outcome.origin}</td>
<td>${stateBadge(outcome.status === 'done' ? 'done' : 'failed')}${
    outcome.status === 'failed'
      ? html` <a href="${ctx.base}/dead-letters${query({ org: outcome.orgId, type: (EVENT_TYPES as readonly string[]).includes(outcome.type) ? outcome.type : undefined })}">dead letters</a>`
      : ''
  }</td>
<td>${rules}</td>
</tr>`;
}
