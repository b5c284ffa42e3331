/**
 * Secrets never come from argv: a value there lands in shell history, `ps` output and CI logs.
 * Before commander parses anything, every option name that looks like it carries a secret is
 * refused with an explanation — naming the option, never echoing its value.
 */
import { CliError } from './errors.ts';

/** Options whose names mention secrets but whose values are not secrets (a flag, a path). */
export const SECRET_SOURCE_OPTIONS = Object.freeze(['secrets-from-stdin', 'secrets-file']);

const SECRET_WORDS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'credential',
  'bearer',
];
const SECRET_SEGMENTS = new Set(['key', 'keys', 'pat', 'pwd', 'pass', 'pw']);

/** Whether an option name (without dashes) reads as one that would carry a secret. */
export function isSecretLikeOptionName(name: string): boolean {
  const lower = name.toLowerCase().replace(/^-+/, '');
  if (SECRET_SOURCE_OPTIONS.includes(lower)) return false;
  const squashed = lower.replace(/[-_]/g, '');
  if (SECRET_WORDS.some((word) => squashed.includes(word))) return true;
  return lower.split(/[-_]/).some((segment) => SECRET_SEGMENTS.has(segment));
}

/**
 * Throws a usage error (exit 2) for the first secret-looking option in `argv` (user arguments,
 * without `node` and the script). Arguments after `--` are operands, not options.
 */
export function assertNoSecretOptions(argv: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=', 1)[0] ?? '';
    if (
      name.startsWith('no-') ? isSecretLikeOptionName(name.slice(3)) : isSecretLikeOptionName(name)
    ) {
      throw new CliError(
        'CLI_SECRET_ON_ARGV',
        `--${name} is not accepted: secrets are never taken from the command line (they would stay in shell history and process lists).`,
        {
          hint: 'Type them at the hidden prompt, pipe JSON with --secrets-from-stdin, or use --secrets-file <path> (see `tallyfy-serverless orgs add --help`).',
        },
      );
    }
  }
}
