/** `--help` extras shared by the commands. */
import type { Command } from 'commander';

/** Appends an "Examples" section to the command's help. */
export function examples(command: Command, lines: readonly string[]): Command {
  const body = lines.map((line) => (line.startsWith('#') ? `  ${line}` : `  $ ${line}`)).join('\n');
  return command.addHelpText('after', `\nExamples:\n${body}\n`);
}
