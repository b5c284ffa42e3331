/**
 * Dead letters: the snapshot of the DLQ filtered by org, type, code and time range (the
 * filters of `dlq list|replay`), paged; a letter's envelope on demand; replay of one letter or
 * of every letter the filter means, after a confirmation that states the count and the pace;
 * the replay records.
 */
import * as z from 'zod';
import {
  type DeadLetter,
  type DeadLetterFilter,
  DeadLetterFilterSchema,
  describeFilter,
  describeReplayRequest,
  estimateReplayMs,
  failedAtOf,
  matchesDeadLetter,
} from '../../../shared/dlq/index.ts';
import { EVENT_TYPES } from '../../../shared/events/index.ts';
import type { ReplayRecord } from '../../../shared/orgs/index.ts';
import { formatDuration, relative } from '../../format.ts';
import {
  type ConsoleContext,
  ConsoleInputError,
  type ConsoleRequest,
  type ConsoleResponse,
  parseInput,
  queryRecord,
} from '../context.ts';
import { type Html, html, query } from '../html.ts';
import { consolePage } from '../layout.ts';
import type { ReplayJob } from '../replay-jobs.ts';
import { csrfField, pager, shortTime, stateBadge } from './parts.ts';

export const PAGE_SIZE = 50;
const LETTER_ID = z.string().regex(/^[\x21-\x7e]{1,512}$/, 'a letter id (message id or event id)');

/** `datetime-local` inputs have no zone: the console says they are UTC. */
const utcInput = (text: string | undefined): string | undefined =>
  text === undefined
    ? undefined
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)
      ? `${text.length === 16 ? `${text}:00` : text}Z`
      : text;

/** The filter fields of a query or form, parsed with the dlq filter schema. */
export function filterFrom(record: Record<string, string>): DeadLetterFilter {
  return parseInput(
    DeadLetterFilterSchema,
    {
      orgId: record.org,
      type: record.type,
      code: record.code,
      since: utcInput(record.since),
      until: utcInput(record.until),
    },
    'dead-letter filter',
  );
}

const filterParams = (filter: DeadLetterFilter): Record<string, string | undefined> => ({
  org: filter.orgId,
  type: filter.type,
  code: filter.code,
  since: filter.since?.slice(0, 16),
  until: filter.until?.slice(0, 16),
});

const ListQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  fresh: z.literal('1').optional(),
  notice: z.string().max(64).optional(),
});

/** Newest failure first. */
const byFailedAtDesc = (a: DeadLetter, b: DeadLetter): number =>
  (failedAtOf(b) ?? '').localeCompare(failedAtOf(a) ?? '');

export async function deadLettersPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  const record = queryRecord(request.query);
  const { org: _o, type: _t, code: _c, since: _s, until: _u, ...rest } = record;
  const input = parseInput(ListQuerySchema.strict(), rest, 'dead-letters query');
  const filter = filterFrom(record);
  const snapshot = await ctx.dlq.get({ fresh: input.fresh === '1' });
  const matching = snapshot.letters
    .filter((l) => matchesDeadLetter(l, filter))
    .sort(byFailedAtDesc);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const pageNo = Math.min(input.page, pages);
  const slice = matching.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
  const codes = new Map<string, number>();
  for (const letter of snapshot.letters) codes.set(letter.code, (codes.get(letter.code) ?? 0) + 1);
  const replays = await ctx.target.registry().listReplays({ limit: 10 });
  const now = ctx.clock();
  const params = filterParams(filter);
  const link = (extra: Record<string, string | number | undefined>) =>
    `${ctx.base}/dead-letters${query({ ...params, ...extra })}`;

  const body = html`
<section class="panel">
<p data-dlq-total="${snapshot.letters.length}">${snapshot.letters.length} letter${snapshot.letters.length === 1 ? '' : 's'} in the dead-letter queue${snapshot.truncated ? html` (the first ${snapshot.letters.length}; SQS counts about ${snapshot.approximateTotal ?? '?'})` : ''} · read ${relative(new Date(snapshot.takenAt).toISOString(), now)} in ${snapshot.sweepMs} ms · <a href="${link({ fresh: '1' })}">read again</a></p>
<p>${[...codes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(
      ([code, count]) =>
        html`<a href="${`${ctx.base}/dead-letters${query({ code })}`}"><code>${code}</code></a> ${count} · `,
    )}</p>
</section>
<form class="filters" method="get" action="${ctx.base}/dead-letters">
<label>Org <input name="org" value="${filter.orgId ?? ''}" maxlength="128"></label>
<label>Type <select name="type"><option value="">any</option>${EVENT_TYPES.map(
    (type) =>
      html`<option value="${type}"${type === filter.type ? html` selected` : ''}>${type}</option>`,
  )}</select></label>
<label>Reason code <input name="code" value="${filter.code ?? ''}" maxlength="64" placeholder="ACTION_NOT_FOUND"></label>
<label>Failed from (UTC) <input type="datetime-local" name="since" value="${params.since ?? ''}"></label>
<label>until (UTC) <input type="datetime-local" name="until" value="${params.until ?? ''}"></label>
<button type="submit" class="secondary">Filter</button>
</form>
<p><b data-matching="${matching.length}">${matching.length}</b> match (${describeFilter(filter)}).
${matching.some((l) => l.replayable) ? html`<a class="button" data-action="replay-all" href="${`${ctx.base}/dead-letters/replay${query(params)}`}">Replay all ${matching.length} matching…</a>` : ''}</p>
<table data-table="dead-letters">
<thead><tr><th>Failed</th><th>Org</th><th>Type</th><th>Reason</th><th class="num">Receives</th><th></th></tr></thead>
<tbody>
${slice.map(
  (letter) => html`<tr data-letter="${letter.messageId}" data-code="${letter.code}">
<td>${shortTime(failedAtOf(letter))}</td>
<td>${letter.orgId === undefined ? '—' : html`<code>${letter.orgId}</code>`}</td>
<td>${letter.type ?? '—'}</td>
<td><code>${letter.code}</code> <span class="muted">(${letter.kind})</span><br>${letter.reason}</td>
<td class="num">${letter.receiveCount}</td>
<td><a href="${ctx.base}/dead-letters/letter/${encodeURIComponent(letter.messageId)}">envelope</a>${
    letter.replayable
      ? html` · <a data-action="replay-one" href="${`${ctx.base}/dead-letters/replay${query({ id: letter.messageId })}`}">replay…</a>`
      : html` · <span class="muted">not replayable</span>`
  }</td>
</tr>`,
)}
</tbody>
</table>
${pager(pageNo, pages, matching.length, (p) => link({ page: p }))}
<h2>Replays</h2>
${replayTable(ctx, replays.replays)}
<p><a href="${ctx.base}/activity">all replays and actions →</a></p>
`;
  return consolePage(
    ctx,
    {
      section: 'dead-letters',
      title: 'Dead letters',
      notice: ctx.notices.take(input.notice ?? null),
    },
    body,
  );
}

/** The replay records as a table (this page and Activity). */
export function replayTable(ctx: ConsoleContext, replays: readonly ReplayRecord[]): Html {
  if (replays.length === 0) return html`<p class="muted">No replay recorded yet.</p>`;
  return html`<table data-table="replays">
<thead><tr><th>Started</th><th>By</th><th>Via</th><th>What</th><th class="num">Asked</th><th class="num">Replayed</th><th class="num">Failed</th><th>Status</th></tr></thead>
<tbody>${replays.map(
    (r) => html`<tr data-replay="${r.replayId}">
<td><a href="${ctx.base}/replays/${r.replayId}">${shortTime(r.startedAt)}</a></td>
<td><code>${r.by}</code></td>
<td>${r.via}</td>
<td>${describeReplayRequest(r.filter)}</td>
<td class="num">${r.requested}</td>
<td class="num">${r.replayed}</td>
<td class="num">${r.failed + r.notDeleted + r.skipped}</td>
<td>${stateBadge(r.status)}</td>
</tr>`,
  )}</tbody></table>`;
}

/** `GET <base>/dead-letters/letter/<id>`: one letter and its envelope. */
export async function letterPage(ctx: ConsoleContext, idText: string): Promise<ConsoleResponse> {
  const id = parseInput(LETTER_ID, idText, 'letter id');
  const letter = await ctx.dlq.find(id);
  if (letter === undefined) {
    throw new ConsoleInputError(
      'No such letter in the dead-letter queue (replayed or removed since?).',
      404,
    );
  }
  let envelope: string;
  try {
    envelope = JSON.stringify(JSON.parse(letter.body ?? ''), null, 2);
  } catch {
    envelope = letter.body ?? '';
  }
  const body = html`
<section class="panel">
<dl class="kv">
<dt>Letter</dt><dd><code>${letter.messageId}</code></dd>
<dt>Event</dt><dd><code>${letter.eventId ?? '—'}</code></dd>
<dt>Org</dt><dd><code>${letter.orgId ?? '—'}</code></dd>
<dt>Type</dt><dd>${letter.type ?? '—'}</dd>
<dt>Origin</dt><dd>${letter.origin ?? '—'}</dd>
<dt>Reason</dt><dd><code>${letter.code}</code> (${letter.kind}): ${letter.reason}</dd>
<dt>Failed</dt><dd>${shortTime(failedAtOf(letter))}, after ${letter.receiveCount} receive${letter.receiveCount === 1 ? '' : 's'}</dd>
${letter.invalidBody === undefined ? '' : html`<dt>Not replayable</dt><dd>${letter.invalidBody}</dd>`}
${
  letter.actionsInDoubt === undefined
    ? ''
    : html`<dt>Actions in doubt</dt><dd><ul data-in-doubt>${letter.actionsInDoubt.map(
        (a) =>
          html`<li>rule <code>${a.ruleId}</code> action ${a.actionIndex} (${a.type}): look in Tallyfy for the marker <code>${a.marker}</code>, then replay choosing whether it happened</li>`,
      )}</ul></dd>`
}
</dl>
<p>${letter.replayable ? html`<a class="button" data-action="replay-one" href="${`${ctx.base}/dead-letters/replay${query({ id: letter.messageId })}`}">Replay…</a> ` : ''}${
    letter.orgId === undefined || !letter.replayable
      ? ''
      : html`<a class="button secondary" href="${`${ctx.base}/rules/${letter.orgId}/test${query({ letter: letter.messageId })}`}">Dry-run the org's rules on it</a>`
  }</p>
</section>
<h2>Envelope</h2>
<pre data-envelope>${envelope}</pre>
`;
  return consolePage(
    ctx,
    {
      section: 'dead-letters',
      title: 'Dead letter',
    },
    body,
  );
}

/** What a replay request means: the letters it selects now, from the snapshot. */
async function selection(ctx: ConsoleContext, record: Record<string, string>, fresh: boolean) {
  const filter = filterFrom(record);
  const id = record.id === undefined ? undefined : parseInput(LETTER_ID, record.id, 'letter id');
  const snapshot = await ctx.dlq.get({ fresh });
  const letters = snapshot.letters.filter(
    (l) =>
      l.replayable &&
      matchesDeadLetter(l, filter) &&
      (id === undefined || l.messageId === id || l.eventId === id),
  );
  return { filter, id, letters };
}

/** `GET <base>/dead-letters/replay?<filter>|id=`: the confirmation, stating the count. */
export async function confirmReplayPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  // the count stated must be the DLQ as it is now, not a snapshot of a minute ago
  const { filter, id, letters } = await selection(ctx, queryRecord(request.query), true);
  const perOrg = new Map<string, number>();
  for (const letter of letters)
    perOrg.set(letter.orgId ?? '', (perOrg.get(letter.orgId ?? '') ?? 0) + 1);
  const rate = ctx.target.requestsPerMinute;
  const estimate = estimateReplayMs(perOrg.values(), Math.ceil(60_000 / rate));
  const params = filterParams(filter);
  const body =
    letters.length === 0
      ? html`<p>No replayable letter matches (${describeFilter(filter)}${id === undefined ? '' : `, id ${id}`}).</p><p><a href="${`${ctx.base}/dead-letters${query(params)}`}">← dead letters</a></p>`
      : html`
<section class="confirm" data-confirm-count="${letters.length}">
<p><b>Replay ${letters.length} letter${letters.length === 1 ? '' : 's'}</b> ${id === undefined ? html`matching ${describeFilter(filter)}` : html`<code>${id}</code>`}?</p>
<p>Each is sent back to the events queue with origin <code>replay</code> (same event id: every action still runs at most once) and deleted from the dead-letter queue only once re-sent. At most ${rate} a minute per org (TALLYFY_REQUESTS_PER_MINUTE)${estimate >= 1000 ? `: about ${formatDuration(estimate)}` : ''}. ${perOrg.size} org${perOrg.size === 1 ? '' : 's'}: ${[...perOrg.entries()].map(([org, count]) => `${org || '(none)'} ${count}`).join(', ')}.</p>
<form method="post" action="${ctx.base}/dead-letters/replay">
${csrfField(ctx)}
${Object.entries({ ...params, id }).map(([name, value]) =>
  value === undefined ? '' : html`<input type="hidden" name="${name}" value="${value}">`,
)}
<input type="hidden" name="expected" value="${letters.length}">
${inDoubtChoice(letters)}<button type="submit" class="danger" data-action="confirm-replay">Replay ${letters.length}</button>
<a class="button secondary" href="${`${ctx.base}/dead-letters${query(params)}`}">Cancel</a>
</form>
</section>`;
  return consolePage(
    ctx,
    {
      section: 'dead-letters',
      title: 'Replay dead letters',
    },
    body,
  );
}

/**
 * For `ACTION_IN_DOUBT` letters, the operator's choice (as `dlq replay --in-doubt`): look once
 * more (default), send the actions unless a look finds them, or record them done unsent.
 */
function inDoubtChoice(letters: readonly DeadLetter[]): Html | string {
  const doubtful = letters.filter((l) => l.actionsInDoubt !== undefined).length;
  if (doubtful === 0) return '';
  return html`<fieldset data-in-doubt-choice>
<legend>${doubtful} letter${doubtful === 1 ? ' has' : 's have'} actions in doubt (their effect may exist: look for the marker in Tallyfy first)</legend>
<label><input type="radio" name="resolution" value="resend" checked> look once more, send only if not found</label>
<label><input type="radio" name="resolution" value="retry_action"> send them unless a look finds them (even when the look fails)</label>
<label><input type="radio" name="resolution" value="mark_done"> they happened: record them done, send nothing</label>
</fieldset>`;
}

const ReplayFormSchema = z.object({
  expected: z.coerce.number().int().min(0).max(100_000),
  resolution: z.enum(['resend', 'retry_action', 'mark_done']).default('resend'),
});

/** `POST <base>/dead-letters/replay`: starts the replay (recorded), then shows its progress. */
export async function startReplay(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  const record = queryRecord(request.form);
  const { expected, resolution } = parseInput(
    ReplayFormSchema,
    { expected: record.expected, resolution: record.resolution },
    'replay form',
  );
  const filter = filterFrom(record);
  const id = record.id === undefined ? undefined : parseInput(LETTER_ID, record.id, 'letter id');
  const by = await ctx.operator();
  const job = await ctx.jobs.start({
    ids: id === undefined ? 'all' : [id],
    filter,
    requested: expected,
    resolution,
    by,
  });
  await ctx.recordAction({
    action: 'replay',
    subject: job.filterText,
    outcome: `started replay ${job.replayId} of ${expected} letter${expected === 1 ? '' : 's'}${resolution === 'resend' ? '' : ` (actions in doubt: ${resolution})`}`,
    ok: true,
  });
  return { kind: 'redirect', location: `${ctx.base}/replays/${job.replayId}` };
}

/** `GET <base>/replays/<id>`: a replay's progress (reloads itself while it runs). */
export async function replayPage(
  ctx: ConsoleContext,
  replayIdText: string,
): Promise<ConsoleResponse> {
  const replayId = parseInput(z.string().uuid(), replayIdText, 'replay id');
  const job: ReplayJob | undefined = ctx.jobs.get(replayId);
  let record = job?.record;
  if (record === undefined) {
    // a replay of another console or the CLI: its record
    let cursor: string | undefined;
    do {
      const page = await ctx.target
        .registry()
        .listReplays({ limit: 100, ...(cursor === undefined ? {} : { cursor }) });
      record = page.replays.find((r) => r.replayId === replayId);
      cursor = page.cursor;
    } while (record === undefined && cursor !== undefined);
  }
  if (record === undefined) throw new ConsoleInputError('No such replay.', 404);
  const running = job !== undefined ? !job.done : record.status === 'running';
  const result = job?.result;
  const problems =
    result === undefined
      ? []
      : [
          ...result.failed.map(
            (f) => html`<li><code>${f.messageId}</code>: not re-sent (${f.error})</li>`,
          ),
          ...result.notDeleted.map(
            (f) =>
              html`<li><code>${f.messageId}</code>: re-sent, still in the DLQ (${f.error})</li>`,
          ),
          ...result.skipped.map(
            (f) => html`<li><code>${f.messageId}</code>: not replayable (${f.reason})</li>`,
          ),
        ];
  const body = html`
<section class="panel" data-replay-status="${running ? 'running' : record.status}">
<dl class="kv">
<dt>Replay</dt><dd><code>${record.replayId}</code></dd>
<dt>By</dt><dd><code>${record.by}</code> via ${record.via}, ${shortTime(record.startedAt)}</dd>
<dt>What</dt><dd>${describeReplayRequest(record.filter)}</dd>
<dt>Pace</dt><dd>at most ${record.ratePerMinute} a minute per org</dd>
${record.resolution === undefined ? '' : html`<dt>Actions in doubt</dt><dd>${record.resolution === 'mark_done' ? 'recorded done, nothing sent' : 'sent unless a look finds them'}</dd>`}
<dt>Status</dt><dd>${stateBadge(running ? 'running' : record.status)}</dd>
<dt>Replayed</dt><dd data-replayed="${result?.replayed.length ?? record.replayed}">${result?.replayed.length ?? record.replayed} of ${record.requested}</dd>
<dt>Failed</dt><dd>${(result?.failed.length ?? record.failed) + (result?.notDeleted.length ?? record.notDeleted) + (result?.skipped.length ?? record.skipped)}</dd>
${record.error === undefined ? '' : html`<dt>Error</dt><dd>${record.error}</dd>`}
</dl>
${problems.length === 0 ? '' : html`<ul>${problems}</ul>`}
</section>
<p><a href="${ctx.base}/dead-letters">← dead letters</a> · <a href="${ctx.base}/events">event flow →</a></p>`;
  return consolePage(
    ctx,
    {
      section: 'dead-letters',
      title: running ? 'Replay running' : 'Replay',
      refreshSeconds: running ? 2 : undefined,
    },
    body,
  );
}
