/**
 * `dlq list`, `dlq replay [id…|--all] [--in-doubt retry|done]`, both with the same filters as the
 * console.
 */
import type { Command } from 'commander';
import {
  createReplayPacer,
  type DeadLetter,
  type DeadLetterFilter,
  DeadLetterFilterSchema,
  describeFilter,
  estimateReplayMs,
  isEmptyFilter,
  listDeadLetters,
  type ReplayResolution,
  runRecordedReplay,
} from '../../shared/dlq/index.ts';
import { now, withTarget } from '../context.ts';
import { CliError } from '../errors.ts';
import { formatDuration, relative } from '../format.ts';
import { type CliIo, isInteractive, table } from '../io.ts';
import { progressBar } from '../progress.ts';
import { examples } from './help.ts';

/** The filter options every `dlq` command takes (docs/dead-letters.md "Filters"). */
interface FilterOptions {
  org?: string;
  type?: string;
  code?: string;
  since?: string;
  until?: string;
}

/** `--in-doubt retry|done` → the replay's resolution of `ACTION_IN_DOUBT` letters. */
function resolutionOf(text: string | undefined): ReplayResolution {
  if (text === undefined) return 'resend';
  if (text === 'retry') return 'retry_action';
  if (text === 'done') return 'mark_done';
  throw new CliError('CLI_USAGE', '--in-doubt must be "retry" or "done".');
}

/** What an operator needs to decide on an `ACTION_IN_DOUBT` letter. */
function inDoubtLines(letters: readonly DeadLetter[]): string[] {
  const doubtful = letters.filter((letter) => letter.actionsInDoubt !== undefined);
  if (doubtful.length === 0) return [];
  return [
    '',
    'Actions in doubt (their effect may exist: look for the marker in Tallyfy first):',
    ...doubtful.flatMap((letter) =>
      (letter.actionsInDoubt ?? []).map(
        (a) =>
          `  ${letter.messageId}: rule ${a.ruleId} action ${a.actionIndex} (${a.type}), marker ${a.marker}`,
      ),
    ),
    'Then `dlq replay <id> --in-doubt done` if it happened (recorded done, nothing sent), or',
    '`--in-doubt retry` to send it unless a look finds it; a plain replay looks once more.',
  ];
}

function maxOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) {
    throw new CliError('CLI_USAGE', '--max must be a whole number from 1 to 10000.');
  }
  return value;
}

/** Parses the filter options with the filter schema; a bad one is a usage error naming it. */
export function filterOf(options: FilterOptions): DeadLetterFilter {
  const parsed = DeadLetterFilterSchema.safeParse({
    orgId: options.org,
    type: options.type,
    code: options.code,
    since: options.since,
    until: options.until,
  });
  if (!parsed.success) {
    const flag = (path: string) => (path === 'orgId' ? '--org' : `--${path}`);
    throw new CliError(
      'CLI_USAGE',
      `Invalid filter: ${parsed.error.issues
        .map((i) => `${flag(String(i.path[0] ?? 'filter'))}: ${i.message}`)
        .join('; ')}.`,
      {
        hint: 'Times are ISO 8601 with a zone (2026-11-20T10:00:00Z); types as `dlq list` shows them.',
      },
    );
  }
  return parsed.data;
}

function withFilterOptions(command: Command): Command {
  return command
    .option('--org <org>', 'only letters of this org')
    .option('--type <type>', 'only this event type (task.completed, process.launched, …)')
    .option('--code <code>', 'only this failure code (ACTION_NOT_FOUND, MAX_RECEIVES_EXCEEDED, …)')
    .option('--since <time>', 'only letters that failed at or after this ISO 8601 time')
    .option('--until <time>', 'only letters that failed before this ISO 8601 time')
    .option('--max <n>', 'most letters to look at (default 1000, at most 10000)');
}

export function registerDlq(program: Command, io: CliIo): void {
  const dlq = program
    .command('dlq')
    .description('dead letters: events the worker could not process')
    .addHelpCommand(false);

  const list = withFilterOptions(
    dlq
      .command('list')
      .description('list dead letters with their failure code and reason (nothing is removed)'),
  );
  examples(list, [
    'tallyfy-serverless dlq list',
    'tallyfy-serverless dlq list --org org5f4e3d2c1b0a --code ACTION_NOT_FOUND --json',
    'tallyfy-serverless dlq list --since 2026-11-20T00:00:00Z --type task.completed',
  ]);
  list.action(async (options: FilterOptions & { max?: string }, command: Command) => {
    const max = maxOf(options.max);
    const filter = filterOf(options);
    await withTarget(io, command, async (target, out) => {
      const letters = await listDeadLetters({
        client: target.sqs(),
        deadLetterQueueUrl: target.deadLetterQueueUrl(),
        filter,
        ...(max === undefined ? {} : { max }),
      });
      const at = now(io);
      out.result({ deadLetters: letters }, () =>
        letters.length === 0
          ? [
              isEmptyFilter(filter)
                ? 'No dead letters.'
                : `No dead letters (${describeFilter(filter)}).`,
            ]
          : [
              ...table(
                ['ID', 'ORG', 'TYPE', 'CODE', 'SENT', 'REPLAY', 'REASON'],
                letters.map((letter) => [
                  letter.messageId,
                  letter.orgId ?? '—',
                  letter.type ?? '—',
                  letter.code,
                  relative(letter.sentAt, at),
                  letter.replayable ? 'yes' : 'no',
                  letter.reason,
                ]),
              ),
              ...inDoubtLines(letters),
              '',
              'Replay with `tallyfy-serverless dlq replay <id>` (or the same filters) once the cause is fixed.',
            ],
      );
    });
  });

  const replay = withFilterOptions(
    dlq
      .command('replay')
      .description(
        'send dead letters back to the events queue (origin "replay", same event id: the worker still runs each action at most once), paced per org at TALLYFY_REQUESTS_PER_MINUTE; a letter is deleted only after its re-send succeeded; every replay is recorded (who, when, how many)',
      )
      .argument('[ids...]', 'letter ids (from `dlq list`) or event ids')
      .option('--all', 'replay every letter (the filters narrow it)')
      .option('-y, --yes', 'do not ask for confirmation at a terminal')
      .option(
        '--in-doubt <choice>',
        'for ACTION_IN_DOUBT letters: "done" records the actions in doubt done without sending them (you found their effect); "retry" sends them unless a look finds it (default: look once more)',
      ),
  );
  examples(replay, [
    'tallyfy-serverless dlq replay 0b7c2d4e-…',
    'tallyfy-serverless dlq replay 0b7c2d4e-… --in-doubt done',
    'tallyfy-serverless dlq replay --org org5f4e3d2c1b0a --code ACTION_NOT_FOUND',
    'tallyfy-serverless dlq replay --all --yes --json',
  ]);
  replay.action(
    async (
      ids: string[],
      options: FilterOptions & { all?: boolean; yes?: boolean; max?: string; inDoubt?: string },
      command: Command,
    ) => {
      const resolution = resolutionOf(options.inDoubt);
      const max = maxOf(options.max);
      const filter = filterOf(options);
      if (options.all === true && ids.length > 0) {
        throw new CliError('CLI_USAGE', 'Give letter ids or --all, not both.');
      }
      if (options.all !== true && ids.length === 0 && isEmptyFilter(filter)) {
        throw new CliError(
          'CLI_USAGE',
          'Give letter ids, a filter (--org, --type, --code, --since, --until), or --all.',
        );
      }
      await withTarget(io, command, async (target, out) => {
        const base = {
          client: target.sqs(),
          deadLetterQueueUrl: target.deadLetterQueueUrl(),
          filter,
          ...(max === undefined ? {} : { max }),
        };
        // count first: the confirmation and the record state how many letters are meant
        const matching = (await listDeadLetters(base)).filter(
          (letter) =>
            ids.length === 0 ||
            ids.includes(letter.messageId) ||
            (letter.eventId !== undefined && ids.includes(letter.eventId)),
        );
        const rate = target.requestsPerMinute;
        const pacer = createReplayPacer({
          requestsPerMinute: rate,
          ...(io.clock ? { clock: io.clock } : {}),
        });
        const perOrg = new Map<string, number>();
        for (const letter of matching) {
          perOrg.set(letter.orgId ?? '', (perOrg.get(letter.orgId ?? '') ?? 0) + 1);
        }
        const estimate = estimateReplayMs(perOrg.values(), pacer.intervalMs);
        out.note(
          `${matching.length} letter${matching.length === 1 ? '' : 's'} match (${ids.length > 0 ? `${ids.length} id${ids.length === 1 ? '' : 's'}, ` : ''}${describeFilter(filter)}); at most ${rate} a minute per org${estimate >= 1000 ? `, about ${formatDuration(estimate)}` : ''}.`,
        );
        if (matching.length > 1 && options.yes !== true && isInteractive(io) && !out.json) {
          const sure = await io.prompts.confirm(`Replay ${matching.length} letters?`, {
            default: false,
          });
          if (!sure) throw new CliError('CLI_CANCELLED', 'Nothing was replayed.');
        }
        const progress = progressBar(io.stderr, !out.json, io.clock);
        let result: Awaited<ReturnType<typeof runRecordedReplay>>['result'];
        try {
          ({ result } = await runRecordedReplay({
            ...base,
            eventsQueueUrl: target.eventsQueueUrl(),
            ids: ids.length > 0 ? ids : 'all',
            resolution,
            pacer,
            records: target.registry(),
            by: await target.operator(),
            via: 'cli',
            requested: matching.length,
            ratePerMinute: rate,
            onProgress: (sofar) => {
              const done =
                sofar.replayed.length +
                sofar.failed.length +
                sofar.notDeleted.length +
                sofar.skipped.length;
              progress.phase(done, Math.max(matching.length, done), 'replaying');
            },
            ...(io.clock ? { clock: io.clock } : {}),
          }));
        } finally {
          progress.done();
        }
        const problems = result.failed.length + result.notDeleted.length + result.skipped.length;
        const lines = [
          `Replayed ${result.replayed.length} letter${result.replayed.length === 1 ? '' : 's'}.`,
          ...result.replayed.map((r) => `  ✓ ${r.messageId} (${r.eventId})`),
          ...result.notDeleted.map(
            (r) => `  ! ${r.messageId}: re-sent, but still in the DLQ (${r.error})`,
          ),
          ...result.failed.map((r) => `  ✗ ${r.messageId}: not re-sent (${r.error})`),
          ...result.skipped.map((r) => `  - ${r.messageId}: not replayable (${r.reason})`),
          ...result.notFound.map((id) => `  ? ${id}: no such letter`),
        ];
        if (problems === 0 && result.notFound.length === 0) {
          out.result(result, () => lines);
          return;
        }
        if (!out.json) io.stderr.write(`${lines.join('\n')}\n`);
        const anyDone = result.replayed.length > 0 || result.notDeleted.length > 0;
        const code = anyDone
          ? 'CLI_PARTLY_FAILED'
          : problems === 0
            ? 'CLI_DEAD_LETTER_NOT_FOUND'
            : result.failed.length > 0
              ? 'CLI_REMOTE_FAILED'
              : 'CLI_PARTLY_FAILED';
        throw new CliError(
          code,
          `Not every letter was replayed (${problems + result.notFound.length} left).`,
          {
            details: { ...result },
          },
        );
      });
    },
  );
}
