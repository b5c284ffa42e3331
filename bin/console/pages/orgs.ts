/**
 * Orgs: one row per org with its token health (from the registry alone: no token is read),
 * a timeline of token expiries, and "refresh now" (the refresher, as `tokens refresh`).
 */
import * as z from 'zod';
import { type Org, OrgIdSchema } from '../../../shared/orgs/index.ts';
import { renderTimeline } from '../../../shared/reports/index.ts';
import { formatDuration, relative } from '../../format.ts';
import { describeOutcome, outcomeError, requestRefresh } from '../../tokens/refresh.ts';
import { type TokenState, tokenState } from '../../tokens/state.ts';
import {
  type ConsoleContext,
  ConsoleInputError,
  type ConsoleRequest,
  type ConsoleResponse,
  parseInput,
  queryRecord,
} from '../context.ts';
import { errorHint } from '../hints.ts';
import { html, query, trusted } from '../html.ts';
import { consolePage } from '../layout.ts';
import { csrfField, pager, recordedRedirect, stateBadge } from './parts.ts';

export const PAGE_SIZE = 50;

/** States in the order an operator should look at them. */
const ATTENTION: readonly TokenState[] = [
  'needs_reauth',
  'expired',
  'failing',
  'expiring',
  'pending',
  'refreshing',
  'healthy',
  'disabled',
];

const OrgsQuerySchema = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  state: z.enum(ATTENTION as [TokenState, ...TokenState[]]).optional(),
  q: z.string().max(128).optional(),
  notice: z.string().max(64).optional(),
});

interface Row {
  org: Org;
  state: TokenState;
}

/** Every org with its state, most urgent first (the registry's byKind index, never a scan). */
export async function orgRows(ctx: ConsoleContext): Promise<Row[]> {
  const now = ctx.clock();
  const rows: Row[] = [];
  for await (const org of ctx.target.registry().listOrgs()) {
    rows.push({ org, state: tokenState(org, now) });
  }
  rows.sort(
    (a, b) =>
      ATTENTION.indexOf(a.state) - ATTENTION.indexOf(b.state) ||
      a.org.orgId.localeCompare(b.org.orgId),
  );
  return rows;
}

export async function orgsPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  const input = parseInput(OrgsQuerySchema, queryRecord(request.query), 'orgs query');
  const now = ctx.clock();
  const all = await orgRows(ctx);
  const counts = new Map<TokenState, number>();
  for (const row of all) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  const needle = input.q?.toLowerCase();
  const shown = all.filter(
    (row) =>
      (input.state === undefined || row.state === input.state) &&
      (needle === undefined ||
        row.org.orgId.toLowerCase().includes(needle) ||
        row.org.name.toLowerCase().includes(needle)),
  );
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const pageNo = Math.min(input.page, pages);
  const slice = shown.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);

  // the timeline: every org with a token, whatever page is shown
  const withToken = all.filter((row) => row.org.tokenExpiresAt !== undefined);
  const latest = Math.max(
    now,
    ...withToken.map((row) => Date.parse(row.org.tokenExpiresAt as string)),
  );
  const toMs = Math.min(now + 30 * 86_400_000, Math.max(now + 3_600_000, latest));
  const lanes = ATTENTION.filter((state) => withToken.some((row) => row.state === state));
  const timeline = renderTimeline({
    id: 'token-expiries',
    title: `Token expiries (${withToken.length} org${withToken.length === 1 ? '' : 's'} with a token)`,
    fromMs: now - 3_600_000,
    toMs,
    lanes,
    points: withToken.map((row) => ({
      lane: lanes.indexOf(row.state),
      atMs: Date.parse(row.org.tokenExpiresAt as string),
      label: `${row.org.orgId}: expires ${row.org.tokenExpiresAt as string} (${relative(row.org.tokenExpiresAt, now)})`,
    })),
    note: 'UTC. A token past the right edge is drawn on it; the refresher renews each before it expires.',
  });

  const link = (params: Record<string, string | number | undefined>) =>
    `${ctx.base}/orgs${query({ state: input.state, q: input.q, ...params })}`;
  const body = html`
<section class="panel">
<p>${all.length} org${all.length === 1 ? '' : 's'} registered · ${ATTENTION.filter((s) =>
    counts.has(s),
  ).map(
    (state) =>
      html`<a href="${ctx.base}/orgs${query({ state })}">${stateBadge(state)} ${counts.get(state) ?? 0}</a> `,
  )}</p>
${trusted(timeline)}
</section>
<form class="filters" method="get" action="${ctx.base}/orgs">
<label>State <select name="state"><option value="">any</option>${ATTENTION.map(
    (state) =>
      html`<option value="${state}"${state === input.state ? html` selected` : ''}>${state}</option>`,
  )}</select></label>
<label>Org id or name <input name="q" value="${input.q ?? ''}" maxlength="128"></label>
<button type="submit" class="secondary">Filter</button>
</form>
<table data-table="orgs">
<thead><tr><th>Org</th><th>Auth mode</th><th>State</th><th>Token expires in</th><th>Last refresh</th><th>Last error</th><th></th></tr></thead>
<tbody>
${slice.map(({ org, state }) => {
  const expires =
    org.tokenExpiresAt === undefined
      ? '—'
      : Date.parse(org.tokenExpiresAt) > now
        ? formatDuration(Date.parse(org.tokenExpiresAt) - now)
        : 'expired';
  return html`<tr data-org="${org.orgId}" data-state="${state}">
<td><code>${org.orgId}</code><br><span class="muted">${org.name}</span></td>
<td>${org.authMode}</td>
<td>${stateBadge(state)}</td>
<td>${expires}</td>
<td>${relative(org.lastRefreshAt, now)}</td>
<td>${
    org.lastError === undefined
      ? '—'
      : html`<code>${org.lastError.code}</code> <span class="muted">${relative(org.lastError.at, now)}</span><br><span class="hint">${errorHint(org.lastError.code)}</span>`
  }</td>
<td>${
    org.status === 'disabled'
      ? html`<span class="muted">disabled</span>`
      : html`<form class="inline" method="post" action="${ctx.base}/orgs/${org.orgId}/refresh">${csrfField(ctx)}<button type="submit" class="secondary" data-action="refresh">Refresh now</button></form>`
  }</td>
</tr>`;
})}
</tbody>
</table>
${shown.length === 0 ? html`<p class="muted">No org matches.</p>` : ''}
${pager(pageNo, pages, shown.length, (p) => link({ page: p }))}
`;
  return consolePage(
    ctx,
    {
      section: 'orgs',
      title: 'Orgs and token health',
      notice: ctx.notices.take(input.notice ?? null),
    },
    body,
  );
}

/** `POST <base>/orgs/<org>/refresh`: the refresher, forced, as `tokens refresh` does. */
export async function refreshOrg(
  ctx: ConsoleContext,
  _request: ConsoleRequest,
  orgIdText: string,
): Promise<ConsoleResponse> {
  const orgId = parseInput(OrgIdSchema, orgIdText, 'org id');
  const registry = ctx.target.registry();
  const org = await registry.getOrg(orgId);
  if (org === undefined) throw new ConsoleInputError(`No org ${orgId} is registered.`, 404);
  let notice: { kind: 'ok' | 'error'; text: string };
  if (org.status === 'disabled') {
    notice = { kind: 'error', text: `Org ${orgId} is disabled: enable it first (orgs enable).` };
  } else {
    try {
      const outcome = await requestRefresh(ctx.target, orgId, true);
      const failure = outcomeError(outcome, orgId);
      notice =
        failure === undefined
          ? { kind: 'ok', text: `Org ${orgId}: ${describeOutcome(outcome)}.` }
          : { kind: 'error', text: failure.message };
    } catch (error) {
      notice = {
        kind: 'error',
        text: `Refresh of ${orgId} could not run: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
  return recordedRedirect(ctx, { action: 'refresh', subject: orgId, notice }, '/orgs');
}
