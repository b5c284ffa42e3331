/** `tokens status [org]`, `tokens refresh <org>`. */
import type { Command } from 'commander';
import type { Org } from '../../shared/orgs/index.ts';
import { now, withTarget } from '../context.ts';
import { CliError, orgNotFound } from '../errors.ts';
import { formatDuration, relative } from '../format.ts';
import { type CliIo, table } from '../io.ts';
import { orgView } from '../orgs/view.ts';
import { describeOutcome, outcomeError, requestRefresh } from '../tokens/refresh.ts';
import { statusRow, type TokenStatusRow, UNHEALTHY } from '../tokens/state.ts';
import { examples } from './help.ts';

export function registerTokens(program: Command, io: CliIo): void {
  const tokens = program
    .command('tokens')
    .description("see and refresh the orgs' Tallyfy tokens")
    .addHelpCommand(false);

  const status = tokens
    .command('status')
    .description(
      'per org: auth mode, expires in, last refresh, state, last error (from the org registry; no token is read)',
    )
    .argument('[org]', 'only this org')
    .option('--check', 'exit 5 when an org is expired, failing or needs re-authorisation');
  examples(status, [
    'tallyfy-serverless tokens status',
    'tallyfy-serverless tokens status org5f4e3d2c1b0a --check --json',
  ]);
  status.action(
    async (orgId: string | undefined, options: { check?: boolean }, command: Command) => {
      await withTarget(io, command, async (target, out) => {
        const registry = target.registry();
        const orgs: Org[] = [];
        if (orgId !== undefined) {
          const org = await registry.getOrg(orgId);
          if (org === undefined) throw orgNotFound(orgId);
          orgs.push(org);
        } else {
          for await (const org of registry.listOrgs()) orgs.push(org);
        }
        const at = now(io);
        const rows = orgs.map((org) => statusRow(org, at));
        out.result({ tokens: rows }, () => render(rows, at));
        const unhealthy = rows.filter((row) => UNHEALTHY.has(row.state));
        if (options.check === true && unhealthy.length > 0) {
          throw new CliError(
            'CLI_CREDENTIALS_REJECTED',
            `${unhealthy.length} org${unhealthy.length === 1 ? '' : 's'} need attention: ${unhealthy.map((row) => `${row.orgId} (${row.state})`).join(', ')}.`,
          );
        }
      });
    },
  );

  const refresh = tokens
    .command('refresh')
    .description(
      "refresh an org's token now (invokes the token refresher: local mode's, or the stack's Lambda)",
    )
    .argument('<org>', 'org id');
  examples(refresh, [
    'tallyfy-serverless tokens refresh org5f4e3d2c1b0a',
    'tallyfy-serverless --stack TallyfyProd tokens refresh org5f4e3d2c1b0a --json',
  ]);
  refresh.action(async (orgId: string, _options: unknown, command: Command) => {
    await withTarget(io, command, async (target, out) => {
      const registry = target.registry();
      const before = await registry.getOrg(orgId);
      if (before === undefined) throw orgNotFound(orgId);
      if (before.status === 'disabled') {
        throw new CliError(
          'CLI_ORG_STATE_CONFLICT',
          `Org ${orgId} is disabled: its token is not refreshed.`,
          {
            hint: 'Enable it first with `orgs enable`.',
          },
        );
      }
      out.note(`Asking the token refresher (${target.label})…`);
      const outcome = await requestRefresh(target, orgId, true);
      const org = (await registry.getOrg(orgId)) ?? before;
      const failure = outcomeError(outcome, orgId);
      if (failure !== undefined) throw failure.withDetails({ outcome, org: orgView(org, now(io)) });
      out.result(
        { outcome, org: orgView(org, now(io)) },
        () => `Org ${orgId}: ${describeOutcome(outcome)}.`,
      );
    });
  });
}

function render(rows: readonly TokenStatusRow[], at: number): string[] {
  if (rows.length === 0) return ['No orgs registered.'];
  const lines = table(
    ['ORG', 'AUTH', 'STATE', 'EXPIRES IN', 'LAST REFRESH', 'LAST ERROR'],
    rows.map((row) => [
      row.orgId,
      row.authMode,
      row.state,
      row.expiresInSeconds === null
        ? '—'
        : row.expiresInSeconds > 0
          ? formatDuration(row.expiresInSeconds * 1000)
          : 'expired',
      relative(row.lastRefreshAt ?? undefined, at),
      row.lastError === null ? '—' : `${row.lastError.code}: ${row.lastError.message}`,
    ]),
  );
  const pending = rows.filter((row) => row.state === 'pending');
  if (pending.length > 0) {
    lines.push(
      '',
      `pending = no token stored yet; \`tallyfy-serverless tokens refresh <org>\` stores one now.`,
    );
  }
  return lines;
}
