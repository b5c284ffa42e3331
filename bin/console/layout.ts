/** The page shell every console page shares: head, navigation, notices, the stylesheet. */
import { CHART_CSS } from '../../shared/reports/index.ts';
import { type Html, html } from './html.ts';

export type Section = 'orgs' | 'events' | 'dead-letters' | 'rules' | 'reports' | 'activity';

const NAV: readonly [Section, string][] = [
  ['orgs', 'Orgs'],
  ['events', 'Event flow'],
  ['dead-letters', 'Dead letters'],
  ['rules', 'Rules'],
  ['reports', 'Reports'],
  ['activity', 'Activity'],
];

/**
 * A page answer framed for this console: its links' base and its target's label come from
 * `ctx`, the rest from `frame`.
 */
export function consolePage(
  ctx: { base: string; target: { label: string } },
  frame: Omit<PageFrame, 'base' | 'targetLabel'>,
  body: Html,
): { kind: 'page'; body: Html } {
  return {
    kind: 'page',
    body: page({ base: ctx.base, targetLabel: ctx.target.label, ...frame }, body),
  };
}

export interface PageFrame {
  /** `/console/<token>`: every link starts here. */
  base: string;
  /** `local mode (.data/local.json)` / `stack TallyfyProd`. */
  targetLabel: string;
  section: Section;
  title: string;
  /** A one-line notice at the top (the outcome of the last action). */
  notice?: { kind: 'ok' | 'error'; text: string } | undefined;
  /** Seconds after which the page reloads itself (a running replay). */
  refreshSeconds?: number | undefined;
}

export function page(frame: PageFrame, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${frame.refreshSeconds === undefined ? '' : html`<meta http-equiv="refresh" content="${frame.refreshSeconds}">`}
<title>${frame.title} · tallyfy-serverless console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${frame.base}/assets/console.css">
</head>
<body data-section="${frame.section}">
<header>
<span class="brand">tallyfy-serverless</span>
<nav>${NAV.map(
    ([section, label]) =>
      html`<a href="${frame.base}/${section}"${section === frame.section ? html` aria-current="page"` : ''}>${label}</a>`,
  )}</nav>
<span class="target" title="what this console operates">${frame.targetLabel}</span>
</header>
<main>
${frame.notice === undefined ? '' : html`<p class="notice ${frame.notice.kind}" role="status">${frame.notice.text}</p>`}
<h1>${frame.title}</h1>
${body}
</main>
</body>
</html>
`;
}

/** The console's stylesheet (`<base>/assets/console.css`): page styles and the chart styles. */
export const CONSOLE_CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;gap:1.5rem;align-items:center;padding:.6rem 1.25rem;background:#1f2a37;color:#fff}
header .brand{font-weight:700}
header nav{display:flex;gap:1rem;flex:1}
header nav a{color:#cfd8e3;text-decoration:none;padding:.2rem 0}
header nav a[aria-current]{color:#fff;border-bottom:2px solid #6cb2ff}
header .target{color:#cfd8e3;font-size:.85rem}
main{max-width:1180px;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.35rem;margin:.5rem 0 1rem}
h2{font-size:1.05rem;margin:1.75rem 0 .5rem}
section.panel{background:#fff;border:1px solid #e3e7eb;border-radius:6px;padding:1rem;margin:0 0 1rem}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e3e7eb;vertical-align:top}
th{font-weight:600;color:#56606b;font-size:.85rem;background:#fafbfc}
td.num,th.num{text-align:right}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#fff;border:1px solid #e3e7eb;border-radius:6px;padding:.75rem;overflow:auto;max-height:36rem}
.state{display:inline-block;padding:0 .45rem;border-radius:9px;font-size:.8rem;font-weight:600}
.state-healthy,.state-done,.state-finished{background:#dcf3e4;color:#1d6b3a}
.state-refreshing,.state-pending,.state-running,.state-claimed{background:#e2ecfb;color:#244f8f}
.state-expiring,.state-failing{background:#fdf0d7;color:#8a5a00}
.state-expired,.state-needs_reauth,.state-failed{background:#fbe0e0;color:#9b1c1c}
.state-disabled{background:#eceff2;color:#56606b}
.muted{color:#56606b}
.hint{color:#56606b;font-size:.85rem}
.notice{padding:.5rem .75rem;border-radius:6px;margin:0 0 1rem}
.notice.ok{background:#dcf3e4}
.notice.error{background:#fbe0e0}
form.inline{display:inline}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:0 0 1rem}
form.filters label{display:flex;flex-direction:column;font-size:.8rem;color:#56606b}
input,select,textarea,button{font:inherit}
input,select,textarea{padding:.25rem .4rem;border:1px solid #c9d1d9;border-radius:4px;background:#fff}
textarea{width:100%;min-height:10rem;font:12px ui-monospace,monospace}
button,.button{display:inline-block;padding:.3rem .75rem;border:1px solid #2f6fb0;border-radius:4px;background:#2f6fb0;color:#fff;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:#2f6fb0}
button.danger{background:#b42318;border-color:#b42318}
.pager{display:flex;gap:1rem;align-items:center;margin:.75rem 0}
.confirm{background:#fff8e6;border:1px solid #f0d48a;border-radius:6px;padding:1rem}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.kv dt{color:#56606b}
dl.kv dd{margin:0}
${CHART_CSS}
`;
