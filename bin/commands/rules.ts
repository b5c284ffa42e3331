/** `rules list|add|remove|test <org>`. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseRuleBody, userScopedActions } from '../../shared/automations/index.ts';
import type { Rule } from '../../shared/orgs/index.ts';
import { now, withTarget } from '../context.ts';
import { CliError, orgNotFound } from '../errors.ts';
import { type CliIo, table } from '../io.ts';
import { userScopeRefused } from '../orgs/app-scope.ts';
import { type DryRun, dryRun, envelopeFor, redactRuleBody } from '../rules/dry-run.ts';
import { readAll } from '../stdin.ts';
import type { Target } from '../target/index.ts';
import { examples } from './help.ts';

const RULE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const MAX_FILE_BYTES = 256 * 1024;

/** Reads JSON from a file, or from stdin when the path is `-`. */
async function readJson(io: CliIo, file: string, what: string): Promise<unknown> {
  let text: string;
  if (file === '-') {
    text = await readAll(io.stdin, MAX_FILE_BYTES);
  } else {
    try {
      text = await readFile(resolve(io.cwd, file), 'utf8');
    } catch (error) {
      throw new CliError(
        'CLI_INPUT_INVALID',
        `Cannot read the ${what} file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(
      'CLI_INPUT_INVALID',
      `The ${what} (${file === '-' ? 'stdin' : file}) is not valid JSON.`,
    );
  }
}

async function requireOrgExists(target: Target, orgId: string): Promise<void> {
  if ((await target.registry().getOrg(orgId)) === undefined) throw orgNotFound(orgId);
}

function ruleView(rule: Rule) {
  return {
    ruleId: rule.ruleId,
    enabled: rule.enabled,
    body: redactRuleBody(rule.body),
    version: rule.version,
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}

function summary(rule: Rule): [string, string] {
  const body = rule.body as { description?: unknown; when?: { event?: unknown }; then?: unknown };
  const events = Array.isArray(body.when?.event)
    ? body.when.event.join(',')
    : String(body.when?.event ?? '?');
  const actions = Array.isArray(body.then)
    ? body.then.map((a) => String((a as { type?: unknown }).type ?? '?')).join(' → ')
    : '?';
  return [events, actions];
}

export function registerRules(program: Command, io: CliIo): void {
  const rules = program
    .command('rules')
    .description("an org's automation rules (when event → then actions)")
    .addHelpCommand(false);

  const list = rules
    .command('list')
    .description('list the rules of an org')
    .argument('<org>', 'org id');
  examples(list, [
    'tallyfy-serverless rules list org5f4e3d2c1b0a',
    'tallyfy-serverless rules list org5f4e3d2c1b0a --json',
  ]);
  list.action(async (orgId: string, _options: unknown, command: Command) => {
    await withTarget(io, command, async (target, out) => {
      await requireOrgExists(target, orgId);
      const found = await target.registry().listRules(orgId, { consistent: true });
      out.result({ orgId, rules: found.map(ruleView) }, () =>
        found.length === 0
          ? [
              `Org ${orgId} has no rules. Add one with \`tallyfy-serverless rules add ${orgId} --file rule.json\`.`,
            ]
          : table(
              ['RULE', 'ENABLED', 'WHEN', 'THEN', 'DESCRIPTION'],
              found.map((rule) => {
                const [events, actions] = summary(rule);
                const description = (rule.body as { description?: unknown }).description;
                return [
                  rule.ruleId,
                  rule.enabled ? 'yes' : 'no',
                  events,
                  actions,
                  typeof description === 'string' ? description : '',
                ];
              }),
            ),
      );
    });
  });

  const add = rules
    .command('add')
    .description(
      'add or replace a rule; the body is checked against the rules schema before it is stored',
    )
    .argument('<org>', 'org id')
    .requiredOption(
      '--file <path>',
      'the rule as JSON: a body {description?, when, then} or {ruleId, enabled?, body}; - reads stdin',
    )
    .option('--id <ruleId>', 'rule id (A-Z a-z 0-9 _ . : -); required unless the file names one')
    .option('--disabled', 'store it disabled (the worker skips it)');
  examples(add, [
    'tallyfy-serverless rules add org5f4e3d2c1b0a --id po-approved --file rules/po-approved.json',
    'cat rule.json | tallyfy-serverless rules add org5f4e3d2c1b0a --id po-approved --file -',
  ]);
  add.action(
    async (
      orgId: string,
      options: { file: string; id?: string; disabled?: boolean },
      command: Command,
    ) => {
      const json = await readJson(io, options.file, 'rule');
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new CliError('CLI_INPUT_INVALID', 'The rule file must hold a JSON object.');
      }
      const wrapped = 'body' in json && !('when' in json);
      const record = json as { ruleId?: unknown; enabled?: unknown; body?: unknown };
      const ruleId =
        options.id ?? (wrapped && typeof record.ruleId === 'string' ? record.ruleId : undefined);
      if (ruleId === undefined || !RULE_ID.test(ruleId)) {
        throw new CliError(
          'CLI_USAGE',
          ruleId === undefined
            ? 'Name the rule with --id <ruleId>.'
            : 'A rule id is 1-128 of A-Z a-z 0-9 _ . : -.',
        );
      }
      const body = wrapped ? record.body : json;
      let checked: ReturnType<typeof parseRuleBody>;
      try {
        checked = parseRuleBody(ruleId, body);
      } catch (error) {
        throw new CliError(
          'CLI_INPUT_INVALID',
          error instanceof Error ? error.message : String(error),
          {
            hint: 'See docs/automations.md for the rules format.',
          },
        );
      }
      const enabled =
        options.disabled === true
          ? false
          : wrapped && typeof record.enabled === 'boolean'
            ? record.enabled
            : true;
      await withTarget(io, command, async (target, out) => {
        const org = await target.registry().getOrg(orgId);
        if (org === undefined) throw orgNotFound(orgId);
        const needs = userScopedActions(checked);
        if (org.authMode === 'client_credentials' && needs.length > 0) {
          // refused now, not dead-lettered on every event later
          throw userScopeRefused(org, `rule ${ruleId}`, needs);
        }
        const existed = (await target.registry().getRule(orgId, ruleId)) !== undefined;
        const rule = await target.registry().putRule(orgId, {
          ruleId,
          enabled,
          body: checked as unknown as Record<string, never>,
        });
        out.result(
          { orgId, replaced: existed, rule: ruleView(rule) },
          () =>
            `${existed ? 'Replaced' : 'Added'} rule ${ruleId} of org ${orgId}${enabled ? '' : ' (disabled)'}: ${summary(rule).join(' → ')}.`,
        );
      });
    },
  );

  const remove = rules
    .command('remove')
    .description('delete a rule')
    .argument('<org>', 'org id')
    .argument('<rule>', 'rule id');
  examples(remove, ['tallyfy-serverless rules remove org5f4e3d2c1b0a po-approved']);
  remove.action(async (orgId: string, ruleId: string, _options: unknown, command: Command) => {
    await withTarget(io, command, async (target, out) => {
      await requireOrgExists(target, orgId);
      if (!(await target.registry().deleteRule(orgId, ruleId))) {
        throw new CliError('CLI_RULE_NOT_FOUND', `Org ${orgId} has no rule ${ruleId}.`, {
          hint: `List them with \`tallyfy-serverless rules list ${orgId}\`.`,
        });
      }
      out.result({ orgId, ruleId, removed: true }, () => `Removed rule ${ruleId} of org ${orgId}.`);
    });
  });

  const test = rules
    .command('test')
    .description(
      "dry-run the org's rules (or one) against an event: which match, and what each action would do, rendered — nothing is sent, launched or recorded",
    )
    .argument('<org>', 'org id')
    .argument('[rule]', 'only this rule (default: every rule of the org)')
    .requiredOption(
      '--event <path>',
      'the event as JSON: a Tallyfy webhook payload as received, or an event envelope (e.g. a dead letter body); - reads stdin',
    )
    .option('--rule-file <path>', 'test this rule body (not stored) instead of the stored rules');
  examples(test, [
    'tallyfy-serverless rules test org5f4e3d2c1b0a --event test/unit/webhooks/fixtures/task-completed.json',
    'tallyfy-serverless rules test org5f4e3d2c1b0a po-approved --event payload.json --json',
    'tallyfy-serverless rules test org5f4e3d2c1b0a --rule-file draft.json --event payload.json',
  ]);
  test.action(
    async (
      orgId: string,
      ruleId: string | undefined,
      options: { event: string; ruleFile?: string },
      command: Command,
    ) => {
      const eventJson = await readJson(io, options.event, 'event');
      const draft =
        options.ruleFile === undefined ? undefined : await readJson(io, options.ruleFile, 'rule');
      await withTarget(io, command, async (target, out) => {
        await requireOrgExists(target, orgId);
        const at = now(io);
        let selected: Rule[];
        if (draft !== undefined) {
          const record = draft as { body?: unknown; when?: unknown };
          const body = record.when === undefined && record.body !== undefined ? record.body : draft;
          const stamp = new Date(at).toISOString();
          selected = [
            {
              orgId,
              ruleId: ruleId ?? 'draft',
              enabled: true,
              body: body as Record<string, never>,
              version: 1,
              createdAt: stamp,
              updatedAt: stamp,
            },
          ];
        } else {
          const all = await target.registry().listRules(orgId, { consistent: true });
          selected = ruleId === undefined ? all : all.filter((rule) => rule.ruleId === ruleId);
          if (ruleId !== undefined && selected.length === 0) {
            throw new CliError('CLI_RULE_NOT_FOUND', `Org ${orgId} has no rule ${ruleId}.`);
          }
        }
        const envelope = envelopeFor(orgId, eventJson, at);
        const result = dryRun(envelope, selected, () => at);
        out.result({ orgId, dryRun: true, ...result }, () => renderDryRun(result));
      });
    },
  );
}

function renderDryRun(result: DryRun): string[] {
  const lines = [
    `Event ${result.event.type}${result.event.subject === null ? '' : ` (${result.event.subject})`} at ${result.event.time}`,
    `  id ${result.event.id}`,
    '',
  ];
  if (result.rules.length === 0) lines.push('No rules to test.');
  for (const rule of result.rules) {
    if (rule.invalid !== undefined) {
      lines.push(`✗ ${rule.ruleId}: invalid, the worker skips it: ${rule.invalid}`);
      continue;
    }
    if (!rule.enabled) {
      lines.push(`- ${rule.ruleId}: disabled`);
      continue;
    }
    if (!rule.matched) {
      lines.push(`- ${rule.ruleId}: does not match`);
      continue;
    }
    lines.push(`✓ ${rule.ruleId}: matches; would run:`);
    for (const action of rule.actions) {
      lines.push(`    ${action.index + 1}. ${action.type} ${JSON.stringify(action.would)}`);
      if (action.error !== undefined) lines.push(`       ! ${action.error}`);
    }
  }
  lines.push('', 'Dry run: nothing was sent, launched or recorded.');
  return lines;
}
