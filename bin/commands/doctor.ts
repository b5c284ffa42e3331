/** `doctor [org]`: what works between this deployment and Tallyfy, check by check. */
import type { Command } from 'commander';
import { now, withTarget } from '../context.ts';
import { doctorLines, runDoctor } from '../doctor.ts';
import { CliError, orgNotFound } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { examples } from './help.ts';

export function registerDoctor(program: Command, io: CliIo): void {
  const doctor = program
    .command('doctor')
    .description(
      'check the configuration against Tallyfy, line by line: the token endpoint answers as OAuth, the API answers, and per org the grant, GET /me, membership of the org, and the endpoint classes its rules, the reconciler and the reports need; each failure names the setting to change. Stores nothing, prints no secret, never spends a stored refresh token',
    )
    .argument('[org]', 'only this org (default: every org that is not disabled)');
  examples(doctor, [
    'tallyfy-serverless doctor',
    'tallyfy-serverless doctor org5f4e3d2c1b0a --json',
    '# try another token endpoint before setting TALLYFY_TOKEN_URL:',
    'tallyfy-serverless --oauth-url https://go.tallyfy.com/oauth/token doctor org5f4e3d2c1b0a',
  ]);
  doctor.action(async (orgId: string | undefined, _options: unknown, command: Command) => {
    await withTarget(io, command, async (target, out) => {
      const registry = target.registry();
      if (orgId !== undefined && (await registry.getOrg(orgId)) === undefined) {
        throw orgNotFound(orgId);
      }
      const report = await runDoctor(
        {
          tallyfy: target.tallyfy,
          targetKind: target.kind,
          registry,
          tokenStore: target.tokenStore(),
          clock: () => now(io),
        },
        orgId,
      );
      const failed = report.checks.filter((c) => c.status === 'fail');
      if (failed.length === 0) {
        out.result(report, () => doctorLines(report));
        return;
      }
      // text: the checks on stdout, then the error; --json: one document, the error with them
      if (!out.json) out.result(report, () => doctorLines(report));
      throw new CliError(
        'CLI_CHECKS_FAILED',
        `${failed.length} of ${report.checks.length} checks failed: ${failed.map((c) => `${c.orgId === undefined ? '' : `${c.orgId} `}${c.check}`).join(', ')}.`,
        {
          hint: `Change ${[...new Set(failed.flatMap((c) => (c.setting === undefined ? [] : [c.setting])))].join('; ') || 'what the failed checks say'}, then run doctor again.`,
          details: { ...report },
        },
      );
    });
  });
}
