/** `report run <org> [--since --until]`. */
import type { Command } from 'commander';
import * as z from 'zod';
import { loadConfig } from '../../shared/config.ts';
import { OnDemandRequestSchema } from '../../shared/reports/index.ts';
import { now, withTarget } from '../context.ts';
import { CliError, orgNotFound } from '../errors.ts';
import { type CliIo, fields } from '../io.ts';
import { userScopeRefused } from '../orgs/app-scope.ts';
import { progressBar } from '../progress.ts';
import { examples } from './help.ts';

const OrgResultSchema = z.union([
  z.looseObject({
    orgId: z.string(),
    ok: z.literal(true),
    keys: z.array(z.string()),
    pagesFetched: z.number(),
    apiCalls: z.number(),
    retries: z.number(),
    durationMs: z.number(),
  }),
  z.looseObject({ orgId: z.string(), ok: z.literal(false), code: z.string(), message: z.string() }),
]);
const RunResultSchema = z.looseObject({
  period: z.object({ since: z.string(), until: z.string() }),
  orgs: z.array(OrgResultSchema),
});

export function registerReport(program: Command, io: CliIo): void {
  const report = program
    .command('report')
    .description('reports on Tallyfy processes and tasks')
    .addHelpCommand(false);
  const run = report
    .command('run')
    .description(
      "generate an org's report now (invokes the reporter: local mode's, writing under its reports directory, or the stack's Lambda, writing to S3)",
    )
    .argument('<org>', 'org id')
    .option(
      '--since <date>',
      'start, YYYY-MM-DD (midnight UTC) or ISO 8601 (default: --until minus REPORT_WINDOW_DAYS)',
    )
    .option('--until <date>', 'end, exclusive (default: now)');
  examples(run, [
    'tallyfy-serverless report run org5f4e3d2c1b0a',
    'tallyfy-serverless report run org5f4e3d2c1b0a --since 2026-11-01 --until 2026-11-08 --json',
  ]);
  run.action(
    async (orgId: string, options: { since?: string; until?: string }, command: Command) => {
      const at = now(io);
      const until = options.until ?? new Date(at).toISOString();
      const windowDays = loadConfig(['reports'], { ...io.env, REPORTS_BUCKET: 'unused-by-the-cli' })
        .reports.windowDays;
      const since =
        options.since ??
        new Date((Date.parse(until) || at) - windowDays * 86_400_000).toISOString();
      const request = OnDemandRequestSchema.safeParse({ orgId, since, until });
      if (!request.success) {
        const problems = request.error.issues.map(
          (i) => `${i.path.join('.') || 'period'}: ${i.message}`,
        );
        throw new CliError('CLI_USAGE', `Invalid report period: ${problems.join('; ')}.`, {
          hint: 'Dates are YYYY-MM-DD (midnight UTC) or ISO 8601 with a zone; at most 366 days.',
        });
      }
      await withTarget(io, command, async (target, out) => {
        const progress = progressBar(io.stderr, !out.json, io.clock);
        let answer: unknown;
        try {
          progress.phase(0, 2, `checking org ${orgId}`);
          const org = await target.registry().getOrg(orgId);
          if (org === undefined) throw orgNotFound(orgId);
          if (org.authMode === 'client_credentials') {
            throw userScopeRefused(org, 'a report', ['GET …/runs', 'GET …/tasks']);
          }
          progress.phase(1, 2, 'generating the report (paging through Tallyfy)');
          answer = await target.invoke('reporter', { orgId, since, until });
          progress.phase(2, 2, 'done');
        } finally {
          progress.done();
        }
        const parsed = RunResultSchema.safeParse(answer);
        const result = parsed.success
          ? parsed.data.orgs.find((org) => org.orgId === orgId)
          : undefined;
        if (!parsed.success || result === undefined) {
          throw new CliError(
            'CLI_REMOTE_FAILED',
            'The reporter answered without a result for the org.',
            {
              hint: "See the reporter's log.",
            },
          );
        }
        if (!result.ok) {
          throw new CliError(
            result.code === 'REPORTS_ORG_NOT_FOUND' ? 'CLI_ORG_NOT_FOUND' : 'CLI_REMOTE_FAILED',
            `The report of ${orgId} failed (${String(result.code)}): ${String(result.message)}`,
            { details: { period: parsed.data.period } },
          );
        }
        const where = target.reportsLocation;
        out.result({ ...result, period: parsed.data.period, location: where ?? null }, () => [
          `Report of org ${orgId} for ${parsed.data.period.since} → ${parsed.data.period.until}:`,
          ...fields([
            ['Files', `${result.keys.length}${where === undefined ? '' : ` under ${where}`}`],
            [
              'Tallyfy',
              `${result.pagesFetched} pages, ${result.apiCalls} calls, ${result.retries} retries`,
            ],
            ['Took', `${(result.durationMs / 1000).toFixed(1)}s`],
          ]).map((line) => `  ${line}`),
          ...result.keys.map((key) => `  ${key}`),
        ]);
      });
    },
  );
}
