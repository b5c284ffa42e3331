/**
 * Rules: an org's rules (signing secrets redacted), and a dry run of them — or of one — against
 * a recent event: a webhook from the raw archive, a dead letter's envelope, or a pasted
 * payload. The dry run is `rules test`'s: nothing is sent, launched or recorded.
 */
import * as z from 'zod';
import { OrgIdSchema, type Rule } from '../../../shared/orgs/index.ts';
import { CliError } from '../../errors.ts';
import { type DryRun, dryRun, envelopeFor, redactRuleBody } from '../../rules/dry-run.ts';
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
import { csrfField } from './parts.ts';

const RULE_ID = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'a rule id of A-Z a-z 0-9 _ . : -');
const ARCHIVE_KEY =
  /^webhooks\/[A-Za-z0-9_-]{1,128}\/\d{4}\/\d{2}\/\d{2}\/[A-Za-z0-9._-]{1,600}\.json$/;
/** Recent webhooks offered per org: today's and yesterday's archive, newest first. */
const RECENT_EVENTS = 20;
const MAX_PAYLOAD_BYTES = 256 * 1024;

const RulesQuerySchema = z.strictObject({ org: OrgIdSchema.optional() });

async function rulesOf(ctx: ConsoleContext, orgId: string): Promise<Rule[]> {
  const registry = ctx.target.registry();
  if ((await registry.getOrg(orgId)) === undefined) {
    throw new ConsoleInputError(`No org ${orgId} is registered.`, 404);
  }
  return registry.listRules(orgId, { consistent: true });
}

/** The org's latest archived webhooks (keys), newest first. */
async function recentWebhooks(ctx: ConsoleContext, orgId: string): Promise<string[]> {
  const archive = ctx.target.archive();
  const now = ctx.clock();
  const keys: string[] = [];
  for (const offset of [0, 1]) {
    const day = new Date(now - offset * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '/');
    const listed = await archive
      .list(`webhooks/${orgId}/${day}/`)
      .catch(() => ({ keys: [] as string[] }));
    keys.push(...listed.keys.filter((key) => ARCHIVE_KEY.test(key)).reverse());
    if (keys.length >= RECENT_EVENTS) break;
  }
  return keys.slice(0, RECENT_EVENTS);
}

/** `20261119T104213.123Z-task.completed_t1_….json` → `2026-11-19 10:42:13Z task.completed …`. */
function describeArchiveKey(key: string): string {
  const name = key.split('/').at(-1) ?? key;
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.\d{3}Z-(.*)\.json$/.exec(name);
  if (match === null) return name;
  const [, y, mo, d, h, mi, s, id] = match;
  return `${y}-${mo}-${d} ${h}:${mi}:${s}Z  ${id}`;
}

export async function rulesPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
): Promise<ConsoleResponse> {
  const input = parseInput(RulesQuerySchema, queryRecord(request.query), 'rules query');
  let content: Html;
  if (input.org === undefined) {
    content = html`<p class="muted">Choose an org to see its rules and dry-run them.</p>`;
  } else {
    const rules = await rulesOf(ctx, input.org);
    const recent = await recentWebhooks(ctx, input.org);
    content = html`
<h2>Rules of <code>${input.org}</code></h2>
${rules.length === 0 ? html`<p class="muted">No rules. Add one with <code>tallyfy-serverless rules add ${input.org} --file rule.json</code>.</p>` : ''}
<table data-table="rules">
<thead><tr><th>Rule</th><th>Enabled</th><th>When</th><th>Then</th><th>Body</th></tr></thead>
<tbody>${rules.map((rule) => {
      const body = rule.body as {
        when?: { event?: unknown };
        then?: unknown;
        description?: unknown;
      };
      const when = Array.isArray(body.when?.event)
        ? body.when.event.join(', ')
        : String(body.when?.event ?? '?');
      const then = Array.isArray(body.then)
        ? body.then.map((a) => String((a as { type?: unknown }).type ?? '?')).join(' → ')
        : '?';
      return html`<tr data-rule="${rule.ruleId}"><td><code>${rule.ruleId}</code>${typeof body.description === 'string' ? html`<br><span class="muted">${body.description}</span>` : ''}</td><td>${rule.enabled ? 'yes' : 'no'}</td><td>${when}</td><td>${then}</td><td><details><summary>JSON</summary><pre>${JSON.stringify(redactRuleBody(rule.body), null, 2)}</pre></details></td></tr>`;
    })}</tbody>
</table>
<h2>Dry run</h2>
<section class="panel">
<form method="get" action="${ctx.base}/rules/${input.org}/test">
<p><label>Rule <select name="rule"><option value="">every rule</option>${rules.map((rule) => html`<option value="${rule.ruleId}">${rule.ruleId}</option>`)}</select></label></p>
<p><label>Recent webhook <select name="event" data-recent-events="${recent.length}">${recent.length === 0 ? html`<option value="">(none archived today or yesterday)</option>` : recent.map((key) => html`<option value="${key}">${describeArchiveKey(key)}</option>`)}</select></label>
<button type="submit" ${recent.length === 0 ? html`disabled` : ''} data-action="dry-run">Dry run</button></p>
</form>
<form method="post" action="${ctx.base}/rules/${input.org}/test">
${csrfField(ctx)}
<p><label>…or a payload (a Tallyfy webhook body, or an event envelope)<br><textarea name="payload" maxlength="${MAX_PAYLOAD_BYTES}" required></textarea></label></p>
<p><label>Rule <select name="rule"><option value="">every rule</option>${rules.map((rule) => html`<option value="${rule.ruleId}">${rule.ruleId}</option>`)}</select></label>
<button type="submit" class="secondary">Dry run this payload</button></p>
</form>
</section>`;
  }
  const body = html`
<form class="filters" method="get" action="${ctx.base}/rules">
<label>Org <input name="org" value="${input.org ?? ''}" maxlength="128" required></label>
<button type="submit" class="secondary">Show rules</button>
</form>
${content}`;
  return consolePage(ctx, { section: 'rules', title: 'Rules' }, body);
}

const TestQuerySchema = z.strictObject({
  rule: RULE_ID.optional(),
  event: z.string().regex(ARCHIVE_KEY, 'an archived webhook key').optional(),
  letter: z
    .string()
    .regex(/^[\x21-\x7e]{1,512}$/, 'a letter id')
    .optional(),
});

/** `GET|POST <base>/rules/<org>/test`: the dry run and its result. */
export async function dryRunPage(
  ctx: ConsoleContext,
  request: ConsoleRequest,
  orgIdText: string,
): Promise<ConsoleResponse> {
  const orgId = parseInput(OrgIdSchema, orgIdText, 'org id');
  const source = request.method === 'GET' ? queryRecord(request.query) : queryRecord(request.form);
  const { csrf: _csrf, payload, ...rest } = source;
  const input = parseInput(TestQuerySchema, rest, 'dry-run request');
  let text: string | undefined;
  let from: string;
  if (request.method === 'POST' && payload !== undefined) {
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
      throw new ConsoleInputError('The payload is over 256 KiB.');
    text = payload;
    from = 'the payload given';
  } else if (input.event !== undefined) {
    if (!input.event.startsWith(`webhooks/${orgId}/`)) {
      throw new ConsoleInputError('The archived webhook is not of this org.');
    }
    const bytes = await ctx.target.archive().get(input.event);
    if (bytes === undefined) throw new ConsoleInputError('No such archived webhook.', 404);
    text = Buffer.from(bytes).toString('utf8');
    from = `the webhook archived as ${input.event}`;
  } else if (input.letter !== undefined) {
    const letter = await ctx.dlq.find(input.letter);
    if (letter?.body === undefined) throw new ConsoleInputError('No such dead letter.', 404);
    text = letter.body;
    from = `dead letter ${letter.messageId}`;
  } else {
    throw new ConsoleInputError('Choose a recent webhook, a dead letter or give a payload.');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConsoleInputError(`The event (${from}) is not valid JSON.`);
  }
  const all = await rulesOf(ctx, orgId);
  const selected =
    input.rule === undefined ? all : all.filter((rule) => rule.ruleId === input.rule);
  if (input.rule !== undefined && selected.length === 0) {
    throw new ConsoleInputError(`Org ${orgId} has no rule ${input.rule}.`, 404);
  }
  let result: DryRun;
  try {
    const at = ctx.clock();
    result = dryRun(envelopeFor(orgId, json, at), selected, () => at);
  } catch (error) {
    if (error instanceof CliError) throw new ConsoleInputError(error.message);
    throw error;
  }
  const body = html`
<p><a href="${`${ctx.base}/rules${query({ org: orgId })}`}">← rules of ${orgId}</a></p>
<section class="panel" data-dry-run="${result.rules.filter((r) => r.matched).length}">
<p>Event <b>${result.event.type}</b>${result.event.subject === null ? '' : html` (<code>${result.event.subject}</code>)`} at ${result.event.time}, from ${from}.<br><span class="muted">id ${result.event.id}</span></p>
${result.rules.length === 0 ? html`<p>No rules to test.</p>` : ''}
<ul>${result.rules.map((rule) => {
    if (rule.invalid !== undefined)
      return html`<li data-rule-result="invalid"><code>${rule.ruleId}</code>: invalid, the worker skips it: ${rule.invalid}</li>`;
    if (!rule.enabled)
      return html`<li data-rule-result="disabled"><code>${rule.ruleId}</code>: disabled</li>`;
    if (!rule.matched)
      return html`<li data-rule-result="no-match"><code>${rule.ruleId}</code>: does not match</li>`;
    return html`<li data-rule-result="match"><code>${rule.ruleId}</code>: matches; would run:<ol>${rule.actions.map(
      (action) =>
        html`<li><b>${action.type}</b><pre>${JSON.stringify(action.would, null, 2)}</pre>${action.error === undefined ? '' : html`<p class="notice error">${action.error}</p>`}</li>`,
    )}</ol></li>`;
  })}</ul>
<p class="hint">Dry run: nothing was sent, launched or recorded.</p>
</section>`;
  return consolePage(ctx, { section: 'rules', title: 'Dry run' }, body);
}
