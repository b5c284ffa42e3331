/**
 * The terminal implementation of {@link Prompts}: `node:readline` for visible answers and
 * confirmations, `@inquirer/password` for secrets (nothing echoed, not even a mask).
 */
import { createInterface } from 'node:readline/promises';
import password from '@inquirer/password';
import { CliError } from './errors.ts';
import type { InStream, OutStream, Prompts } from './io.ts';

/** Ctrl-C / Ctrl-D inside a prompt: a cancellation, not a crash. */
function cancelled(cause?: unknown): CliError {
  return new CliError('CLI_CANCELLED', 'Cancelled.', { cause });
}

export function terminalPrompts(input: InStream, output: OutStream): Prompts {
  const ask = async (question: string): Promise<string> => {
    const rl = createInterface({ input, output, terminal: input.isTTY === true });
    const closed = new Promise<never>((_, reject) => {
      rl.once('close', () => reject(cancelled()));
      rl.once('SIGINT', () => reject(cancelled()));
    });
    try {
      return await Promise.race([rl.question(question), closed]);
    } finally {
      rl.removeAllListeners('close');
      rl.close();
    }
  };
  return {
    async text(message, options = {}) {
      const suffix = options.default === undefined ? '' : ` (${options.default})`;
      const answer = (await ask(`${message}${suffix}: `)).trim();
      return answer === '' ? (options.default ?? '') : answer;
    },
    async password(message) {
      try {
        return await password(
          { message, mask: false },
          { input, output, clearPromptOnDone: false },
        );
      } catch (error) {
        // @inquirer raises ExitPromptError on Ctrl-C; nothing was typed that we keep
        throw cancelled(error);
      }
    },
    async confirm(message, options = {}) {
      const fallback = options.default ?? false;
      const answer = (await ask(`${message} ${fallback ? '[Y/n]' : '[y/N]'} `))
        .trim()
        .toLowerCase();
      if (answer === '') return fallback;
      return answer === 'y' || answer === 'yes';
    },
  };
}
