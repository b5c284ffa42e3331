/** What every command action gets: the global options, its output, and the target. */
import type { Command } from 'commander';
import type { CliIo } from './io.ts';
import { Output } from './io.ts';
import { resolveTarget, type Target, type TargetOptions } from './target/index.ts';

export interface GlobalOptions extends TargetOptions {
  json?: boolean | undefined;
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

export function outputOf(io: CliIo, command: Command): Output {
  return new Output(io, globalsOf(command).json === true);
}

/** Opens the target for the command, runs `fn`, and always closes the target's clients. */
export async function withTarget(
  io: CliIo,
  command: Command,
  fn: (target: Target, out: Output) => Promise<void>,
): Promise<void> {
  const out = outputOf(io, command);
  const target = await resolveTarget(globalsOf(command), io);
  try {
    await fn(target, out);
  } finally {
    target.close();
  }
}

export const now = (io: CliIo): number => (io.clock ?? Date.now)();
