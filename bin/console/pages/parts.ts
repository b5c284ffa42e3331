/** Small pieces several pages share. */
import type { ConsoleContext, ConsoleResponse } from '../context.ts';
import { type Html, html, query } from '../html.ts';
import type { Notice } from '../notices.ts';

/**
 * Ends an action that reports back with a notice: records it on the activity log, then sends
 * the browser to `path` (under the console's base) with the notice at its top.
 */
export async function recordedRedirect(
  ctx: ConsoleContext,
  action: { action: string; subject: string; notice: Notice },
  path: string,
): Promise<ConsoleResponse> {
  await ctx.recordAction({
    action: action.action,
    subject: action.subject,
    outcome: action.notice.text,
    ok: action.notice.kind === 'ok',
  });
  return {
    kind: 'redirect',
    location: `${ctx.base}${path}${query({ notice: ctx.notices.add(action.notice) })}`,
  };
}

/** The hidden CSRF field every action form carries. */
export const csrfField = (ctx: ConsoleContext): Html =>
  html`<input type="hidden" name="csrf" value="${ctx.secrets.formToken}">`;

/** A state as a coloured badge (`state-<name>` classes in console.css). */
export const stateBadge = (state: string): Html =>
  html`<span class="state state-${state.replace(/[^a-z_]/g, '')}" data-state-badge="${state}">${state}</span>`;

/** Previous / next links and where we are. */
export function pager(
  pageNo: number,
  pages: number,
  total: number,
  link: (page: number) => string,
): Html {
  if (pages <= 1) return html`<p class="muted">${total} shown.</p>`;
  return html`<nav class="pager" aria-label="pages">
${pageNo > 1 ? html`<a href="${link(pageNo - 1)}" rel="prev">← previous</a>` : ''}
<span>page ${pageNo} of ${pages} (${total})</span>
${pageNo < pages ? html`<a href="${link(pageNo + 1)}" rel="next">next →</a>` : ''}
</nav>`;
}

/** `2026-11-20 10:42:13Z` for tables. */
export const shortTime = (iso: string | undefined | null): string =>
  iso === undefined || iso === null ? '—' : `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
