/**
 * `report.html`: one self-contained page per org and run, beside the CSVs and `report.json`.
 * Inline CSS and inline SVG charts; no script, no font, no image, no link to anything: it reads
 * the same offline, from S3, attached to an email or printed. Its own Content-Security-Policy
 * (`default-src 'none'`, `data:` images only: the empty icon that keeps browsers from asking
 * the server for a favicon) makes a browser refuse any request the page might make.
 */
import { CHART_CSS, escapeHtml, renderChart } from './charts.ts';
import type { ReportDocument } from './document.ts';
import { reportCharts } from './report-charts.ts';

/** Page styles (besides {@link CHART_CSS}). */
const PAGE_CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328;background:#fff}
main{max-width:780px;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.4rem;margin:0 0 .25rem}
h2{font-size:1.1rem;margin:2rem 0 .75rem;border-bottom:1px solid #e3e7eb;padding-bottom:.25rem}
.meta{color:#56606b;margin:0 0 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.5rem;margin:1rem 0}
.card{border:1px solid #e3e7eb;border-radius:6px;padding:.5rem .75rem}
.card b{display:block;font-size:1.3rem}
.card span{color:#56606b;font-size:.85rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border-bottom:1px solid #e3e7eb;padding:.25rem .75rem .25rem 0;text-align:left}
@media print{main{max-width:none}}
`;

const TOTALS: readonly [keyof ReportDocument['totals'], string][] = [
  ['processesLaunched', 'processes launched'],
  ['processesCompleted', 'processes completed'],
  ['openProcesses', 'open processes (now)'],
  ['tasksCompleted', 'tasks completed'],
  ['overdueTasks', 'overdue tasks (now)'],
  ['tasksDueNext7Days', 'tasks due in 7 days'],
];

/** The charts of a report as inline SVG figures (also what the console shows). */
export function renderReportCharts(document: ReportDocument): string {
  return reportCharts(document).map(renderChart).join('\n');
}

/**
 * Renders the page from the report document (the same data as `report.json`).
 *
 * @example files.set('report.html', { body: renderReportHtml(document), contentType: 'text/html; charset=utf-8' });
 */
export function renderReportHtml(document: ReportDocument): string {
  const { metadata, totals, eventFigures } = document;
  const name = metadata.orgName ?? metadata.orgId;
  const local = (utc: string, text: string | null) =>
    text === null ? escapeHtml(utc) : `${escapeHtml(utc)} (${escapeHtml(text)})`;
  const cards = TOTALS.map(
    ([key, label]) =>
      `<div class="card"><b>${totals[key]}</b><span>${escapeHtml(label)}</span></div>`,
  ).join('');
  const events =
    eventFigures === null
      ? '<p>Our own event figures are not available for this period (event records are kept for DEDUPE_TTL_DAYS).</p>'
      : `<table><tr><th>received (webhook)</th><th>recovered (reconciler)</th><th>dead-lettered, not replayed since</th></tr><tr><td>${eventFigures.received}</td><td>${eventFigures.recovered}</td><td>${eventFigures.deadLettered}</td></tr></table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Report: ${escapeHtml(name)}, ${escapeHtml(metadata.period.since.slice(0, 10))} to ${escapeHtml(metadata.period.until.slice(0, 10))}</title>
<style>${PAGE_CSS}${CHART_CSS}</style>
</head>
<body>
<main data-report="${escapeHtml(metadata.orgId)}">
<h1>${escapeHtml(name)}</h1>
<p class="meta">Org <code>${escapeHtml(metadata.orgId)}</code> · period ${local(metadata.period.since, metadata.period.sinceLocal)} to ${local(metadata.period.until, metadata.period.untilLocal)} · generated ${local(metadata.generatedAt, metadata.generatedAtLocal)} · ${metadata.pagesFetched} pages, ${metadata.apiCalls} Tallyfy calls</p>
<div class="cards">${cards}</div>
<h2>Charts</h2>
${renderReportCharts(document)}
<h2>Our event figures for the period</h2>
${events}
<p class="meta">Every table is also in this folder as CSV and in report.json (schema version ${document.schemaVersion}).</p>
</main>
</body>
</html>
`;
}
