/**
 * Reports: per org, the latest report's figures, its charts (drawn from its report.json by the
 * same function report.html uses), the other days, and links to every file (served through
 * the console from the reports bucket or local mode's directory). "Run report now" invokes
 * the reporter as `report run` does.
 */
import * as z from 'zod';
import { createLimiter } from '../../../shared/async.ts';
import { OrgIdSchema } from '../../../shared/orgs/index.ts';
import { type ReportDocument, renderReportCharts } from '../../../shared/reports/index.ts';
import { relative } from '../../format.ts';
import {
  type ConsoleContext,
  ConsoleInputError,
  type ConsoleRequest,
  type ConsoleResponse,
  parseInput,
  queryRecord,
} from '../context.ts';
import { html, query, trusted } from '../html.ts';
import { consolePage } from '../layout.ts';
import { csrfField, pager, recordedRedirect } from './parts.ts';

const PAGE_SIZE = 50;
const DAY = z.string().regex(/^(\d{4}-\d{2}-\d{2}|latest)$/, 'a report day (YYYY-MM-DD) or latest');
const FILE = z.string().regex(/^[a-z0-9-]{1,64}\.(csv|json|html)$/, 'a report file name');
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

async function readDocument(
  ctx: ConsoleContext,
  orgId: string,
  day: string,
): Promise<ReportDocument | undefined> {
  const bytes = await ctx.target.reports().get(`reports/${orgId}/${day}/report.json`);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as ReportDocument;
  } catch {
    return undefined;
  }
}

const ReportsQuerySchema = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  notice: z.string().max(64).optional(),
});

export async function reportsPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  const input = parseInput(ReportsQuerySchema, queryRecord(request.query), 'reports query');
  const orgs: { orgId: string; name: string }[] = [];
  for await (const org of ctx.target.registry().listOrgs())
    orgs.push({ orgId: org.orgId, name: org.name });
  orgs.sort((a, b) => a.orgId.localeCompare(b.orgId));
  const pages = Math.max(1, Math.ceil(orgs.length / PAGE_SIZE));
  const pageNo = Math.min(input.page, pages);
  const slice = orgs.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
  // an org whose latest report cannot be read is listed as having none
  const limit = createLimiter(8);
  const latest = await Promise.all(
    slice.map((org) => limit(() => readDocument(ctx, org.orgId, 'latest').catch(() => undefined))),
  );
  const now = ctx.clock();
  const body = html`
<p class="muted">Reports live in ${ctx.target.reports().location}. Each run writes CSVs, report.json and report.html per org.</p>
<table data-table="reports">
<thead><tr><th>Org</th><th>Latest period</th><th>Generated</th><th class="num">Launched</th><th class="num">Completed</th><th class="num">Overdue now</th><th></th></tr></thead>
<tbody>${slice.map((org, index) => {
    const doc = latest[index];
    return html`<tr data-org="${org.orgId}">
<td><a href="${ctx.base}/reports/${org.orgId}"><code>${org.orgId}</code></a><br><span class="muted">${org.name}</span></td>
${
  doc === undefined
    ? html`<td colspan="5" class="muted">no report yet</td>`
    : html`<td>${doc.metadata.period.since.slice(0, 10)} → ${doc.metadata.period.until.slice(0, 10)}</td><td>${relative(doc.metadata.generatedAt, now)}</td><td class="num">${doc.totals.processesLaunched}</td><td class="num">${doc.totals.processesCompleted}</td><td class="num">${doc.totals.overdueTasks}</td>`
}
<td><form class="inline" method="post" action="${ctx.base}/reports/${org.orgId}/run">${csrfField(ctx)}<button type="submit" class="secondary" data-action="run-report">Run report now</button></form></td>
</tr>`;
  })}</tbody>
</table>
${pager(pageNo, pages, orgs.length, (p) => `${ctx.base}/reports${query({ page: p })}`)}`;
  return consolePage(
    ctx,
    {
      section: 'reports',
      title: 'Reports',
      notice: ctx.notices.take(input.notice ?? null),
    },
    body,
  );
}

const OrgReportQuerySchema = z.strictObject({
  day: DAY.optional(),
  notice: z.string().max(64).optional(),
});

/** `GET <base>/reports/<org>?day=`: one report's charts and files. */
export async function orgReportPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
  orgIdText: string,
): Promise<ConsoleResponse> {
  const orgId = parseInput(OrgIdSchema, orgIdText, 'org id');
  const input = parseInput(OrgReportQuerySchema, queryRecord(request.query), 'report query');
  const reports = ctx.target.reports();
  const days = (await reports.list(`reports/${orgId}/`)).folders
    .map((folder) => folder.slice(`reports/${orgId}/`.length, -1))
    .filter((day) => /^\d{4}-\d{2}-\d{2}$/.test(day))
    .sort()
    .reverse();
  const day = input.day ?? (days.length > 0 ? 'latest' : undefined);
  const doc = day === undefined ? undefined : await readDocument(ctx, orgId, day);
  const files =
    day === undefined
      ? []
      : (await reports.list(`reports/${orgId}/${day}/`)).keys
          .map((key) => key.split('/').at(-1) ?? key)
          .filter((name) => FILE.safeParse(name).success);
  const fileLink = (name: string) => `${ctx.base}/files/reports/${orgId}/${day}/${name}`;
  const body = html`
<p><a href="${ctx.base}/reports">← all reports</a> · <form class="inline" method="post" action="${ctx.base}/reports/${orgId}/run">${csrfField(ctx)}<button type="submit" class="secondary" data-action="run-report">Run report now</button></form></p>
<form class="filters" method="get" action="${ctx.base}/reports/${orgId}">
<label>Report <select name="day"><option value="latest">latest</option>${days.map(
    (d) => html`<option value="${d}"${d === input.day ? html` selected` : ''}>${d}</option>`,
  )}</select></label>
<button type="submit" class="secondary">Show</button>
</form>
${
  doc === undefined
    ? html`<p class="muted">No report for ${orgId}${day === undefined || day === 'latest' ? ' yet' : ` on ${day}`}. Run one with the button above or <code>tallyfy-serverless report run ${orgId}</code>.</p>`
    : html`
<section class="panel" data-report="${orgId}">
<p>Period ${doc.metadata.period.since} → ${doc.metadata.period.until} · generated ${doc.metadata.generatedAt} · ${doc.metadata.apiCalls} Tallyfy calls</p>
<p>Files: ${files.map((name) => html`<a href="${fileLink(name)}" data-file="${name}">${name}</a> `)}</p>
${trusted(renderReportCharts(doc))}
</section>`
}`;
  return consolePage(
    ctx,
    {
      section: 'reports',
      title: `Report of ${orgId}`,
      notice: ctx.notices.take(input.notice ?? null),
    },
    body,
  );
}

/** `GET <base>/files/reports/<org>/<day>/<file>`: a report file as stored. */
export async function reportFile(
  ctx: ConsoleContext,
  orgIdText: string,
  dayText: string,
  fileText: string,
): Promise<ConsoleResponse> {
  const orgId = parseInput(OrgIdSchema, orgIdText, 'org id');
  const day = parseInput(DAY, dayText, 'report day');
  const file = parseInput(FILE, fileText, 'report file');
  const bytes = await ctx.target.reports().get(`reports/${orgId}/${day}/${file}`);
  if (bytes === undefined) throw new ConsoleInputError('No such report file.', 404);
  const extension = file.split('.').at(-1) as string;
  return {
    kind: 'file',
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    body: bytes,
    reportPage: extension === 'html',
    ...(extension === 'csv' ? { fileName: `${orgId}-${day}-${file}` } : {}),
  };
}

/** `POST <base>/reports/<org>/run`: the reporter for the org, over the window up to now. */
export async function runReport(ctx: ConsoleContext, orgIdText: string): Promise<ConsoleResponse> {
  const orgId = parseInput(OrgIdSchema, orgIdText, 'org id');
  if ((await ctx.target.registry().getOrg(orgId)) === undefined) {
    throw new ConsoleInputError(`No org ${orgId} is registered.`, 404);
  }
  let notice: { kind: 'ok' | 'error'; text: string };
  try {
    // as `report run` does: the REPORT_WINDOW_DAYS up to now (the reporter's own default for
    // an on-demand run is the last whole days, which leaves today out)
    const until = new Date(ctx.clock()).toISOString();
    const since = new Date(ctx.clock() - ctx.target.reportWindowDays * 86_400_000).toISOString();
    const answer = (await ctx.target.invoke('reporter', { orgId, since, until })) as {
      orgs?: { orgId: string; ok: boolean; code?: string; keys?: string[] }[];
    };
    const result = answer?.orgs?.find((org) => org.orgId === orgId);
    notice =
      result?.ok === true
        ? { kind: 'ok', text: `Report of ${orgId} written (${result.keys?.length ?? 0} files).` }
        : {
            kind: 'error',
            text: `The report of ${orgId} failed (${result?.code ?? 'no result'}).`,
          };
  } catch (error) {
    notice = {
      kind: 'error',
      text: `The reporter could not run: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return recordedRedirect(ctx, { action: 'report', subject: orgId, notice }, `/reports/${orgId}`);
}
