/** `dlq list`, `dlq replay [id…|--all] [--in-doubt retry|done]`. */
import type { Command } from 'commander';
import {
  type DeadLetter,
  listDeadLetters,
  type ReplayResolution,
  replayDeadLetters,
} from '../../shared/dlq/index.ts';
import { now, withTarget } from '../context.ts';
import { CliError } from '../errors.ts';
import { relative } from '../format.ts';
import { type CliIo, table } from '../io.ts';
import { examples } from './help.ts';

function maxOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) {
    throw new CliError('CLI_USAGE', '--max must be a whole number from 1 to 10000.');
  }
  return value;
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

export function registerDlq(program: Command, io: CliIo): void {
  const dlq = program
    .command('dlq')
    .description('dead letters: events the worker could not process')
    .addHelpCommand(false);

  const list = dlq
    .command('list')
    .description('list dead letters with their failure code and reason (nothing is removed)')
    .option('--org <org>', 'only letters of this org')
    .option('--max <n>', 'most letters to look at (default 1000)');
  examples(list, [
    'tallyfy-serverless dlq list',
    'tallyfy-serverless dlq list --org org5f4e3d2c1b0a --json',
  ]);
  list.action(async (options: { org?: string; max?: string }, command: Command) => {
    const max = maxOf(options.max);
    await withTarget(io, command, async (target, out) => {
      const letters = (
        await listDeadLetters({
          client: target.sqs(),
          deadLetterQueueUrl: target.deadLetterQueueUrl(),
          ...(max === undefined ? {} : { max }),
        })
      ).filter((letter) => options.org === undefined || letter.orgId === options.org);
      const at = now(io);
      out.result({ deadLetters: letters }, () =>
        letters.length === 0
          ? ['No dead letters.']
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
              'Replay with `tallyfy-serverless dlq replay <id>` (or --all) once the cause is fixed.',
            ],
      );
    });
  });

  const replay = dlq
    .command('replay')
    .description(
      'send dead letters back to the events queue (origin "replay", same event id: the worker still runs each action at most once); a letter is deleted only after its re-send succeeded',
    )
    .argument('[ids...]', 'letter ids (from `dlq list`) or event ids')
    .option('--all', 'replay every letter')
    .option(
      '--in-doubt <choice>',
      'for ACTION_IN_DOUBT letters: "done" records the actions in doubt done without sending them (you found their effect); "retry" sends them unless a look finds it (default: look once more)',
    );
  examples(replay, [
    'tallyfy-serverless dlq replay 0b7c2d4e-…',
    'tallyfy-serverless dlq replay 0b7c2d4e-… --in-doubt done',
    'tallyfy-serverless dlq replay --all --json',
  ]);
  replay.action(
    async (ids: string[], options: { all?: boolean; inDoubt?: string }, command: Command) => {
      const resolution = resolutionOf(options.inDoubt);
      if ((options.all === true) === ids.length > 0) {
        throw new CliError(
          'CLI_USAGE',
          ids.length > 0 ? 'Give letter ids or --all, not both.' : 'Give letter ids, or --all.',
        );
      }
      await withTarget(io, command, async (target, out) => {
        const result = await replayDeadLetters({
          client: target.sqs(),
          deadLetterQueueUrl: target.deadLetterQueueUrl(),
          eventsQueueUrl: target.eventsQueueUrl(),
          ids: options.all === true ? 'all' : ids,
          resolution,
        });
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
