/**
 * Runs the CLI once: guards argv against secrets, parses, runs the command, maps any failure
 * to one message and an exit code. Never calls `process.exit`: the caller sets the exit code,
 * so tests run it in-process.
 */
import { CommanderError } from 'commander';
import { closeSharedDispatchers } from '../shared/tallyfy/index.ts';
import { assertNoSecretOptions } from './argv-guard.ts';
import { CliError, EXIT, type ExitCode } from './errors.ts';
import { explain } from './explain.ts';
import type { CliIo } from './io.ts';
import { buildProgram } from './program.ts';

/** Runs `argv` (user arguments only, without `node` and the script) and resolves the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const json = argv.includes('--json');
  try {
    assertNoSecretOptions(argv);
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are "errors" to commander; they printed already. A group
      // command without its subcommand ('commander.help') printed its help as a usage error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
        return EXIT.ok;
      }
      if (json) report(io, new CliError('CLI_USAGE', error.message.replace(/^error: /, '')), true);
      return EXIT.usage;
    }
    const failure = explain(error);
    report(io, failure, json);
    return failure.exitCode;
  } finally {
    await closeSharedDispatchers();
  }
}

function report(io: CliIo, failure: CliError, json: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: failure.toJSON() }, null, 2)}\n`);
    return;
  }
  io.stderr.write(`error: ${failure.message}\n`);
  if (failure.hint !== undefined) io.stderr.write(`hint: ${failure.hint}\n`);
}
