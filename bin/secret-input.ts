/**
 * Where `orgs add` takes secrets from — and only from: a hidden prompt, JSON on stdin
 * (`--secrets-from-stdin`) or a JSON file (`--secrets-file`). Values become `Secret`s at once;
 * error messages name fields and checks, never values (nor the file path, which a careless
 * user might have filled with a secret).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as z from 'zod';
import type { AuthMode } from '../shared/orgs/index.ts';
import { Secret } from '../shared/secret.ts';
import { CliError } from './errors.ts';
import { type CliIo, isInteractive } from './io.ts';
import { readAll } from './stdin.ts';

/** Secret fields per auth mode, with the prompt shown for each. */
export const SECRET_FIELDS: Readonly<
  Record<AuthMode, readonly { key: SecretKey; prompt: string }[]>
> = {
  password: [
    { key: 'clientSecret', prompt: 'OAuth client secret' },
    { key: 'password', prompt: 'Tallyfy password' },
  ],
  client_credentials: [{ key: 'clientSecret', prompt: 'OAuth client secret' }],
  personal_access_token: [{ key: 'token', prompt: 'Personal access token' }],
  app_user_token: [{ key: 'appClientSecret', prompt: 'App client secret' }],
};

export type SecretKey = 'clientSecret' | 'password' | 'token' | 'appClientSecret';

/** Non-secret fields the JSON may carry too (flags win over them). */
const PLAIN_FIELDS = ['clientId', 'username', 'appClientId', 'email'] as const;
export type PlainKey = (typeof PLAIN_FIELDS)[number];

const MAX_BYTES = 64 * 1024;

export interface SecretSources {
  secretsFromStdin?: boolean | undefined;
  secretsFile?: string | undefined;
}

export interface CollectedSecrets {
  secrets: Partial<Record<SecretKey, Secret>>;
  /** Non-secret fields found in the JSON. */
  plain: Partial<Record<PlainKey, string>>;
  source: 'stdin' | 'file' | 'prompt';
}

function schemaFor(authMode: AuthMode) {
  const shape: Record<string, z.ZodType> = {};
  for (const { key } of SECRET_FIELDS[authMode]) shape[key] = z.string().min(1);
  for (const key of PLAIN_FIELDS) shape[key] = z.string().min(1).optional();
  return z.strictObject(shape);
}

/** Parses the JSON text of stdin or a file into secrets; messages never quote the text. */
export function parseSecretsJson(
  text: string,
  authMode: AuthMode,
  from: string,
): Omit<CollectedSecrets, 'source'> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError('CLI_INPUT_INVALID', `The secrets from ${from} are not valid JSON.`, {
      hint: exampleHint(authMode),
    });
  }
  const parsed = schemaFor(authMode).safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.join(', ')}`;
      const path = issue.path.join('.') || '(root)';
      const present =
        typeof json === 'object' &&
        json !== null &&
        issue.path.length > 0 &&
        String(issue.path[0]) in json;
      return issue.code === 'invalid_type' && !present
        ? `${path} is missing`
        : `${path} must be a non-empty string`;
    });
    throw new CliError(
      'CLI_INPUT_INVALID',
      `The secrets from ${from} do not fit auth mode ${authMode}: ${problems.join('; ')}.`,
      { hint: exampleHint(authMode) },
    );
  }
  const secrets: Partial<Record<SecretKey, Secret>> = {};
  const plain: Partial<Record<PlainKey, string>> = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (typeof value !== 'string') continue;
    if ((PLAIN_FIELDS as readonly string[]).includes(key)) plain[key as PlainKey] = value;
    else secrets[key as SecretKey] = new Secret(value);
  }
  return { secrets, plain };
}

export function exampleHint(authMode: AuthMode): string {
  const keys = SECRET_FIELDS[authMode].map(({ key }) => `"${key}": "…"`).join(', ');
  return `Expected a JSON object such as {${keys}} (optionally also ${PLAIN_FIELDS.join(', ')}).`;
}

/**
 * Collects the secrets of `authMode` from the one source the user chose. Without
 * `--secrets-from-stdin` or `--secrets-file`, it asks at hidden prompts when interactive, and
 * fails with a usage error when not.
 */
export async function collectSecrets(
  io: CliIo,
  authMode: AuthMode,
  sources: SecretSources,
): Promise<CollectedSecrets> {
  if (sources.secretsFromStdin === true && sources.secretsFile !== undefined) {
    throw new CliError('CLI_USAGE', '--secrets-from-stdin and --secrets-file exclude each other.');
  }
  if (sources.secretsFromStdin === true) {
    if (io.stdin.isTTY === true) {
      throw new CliError(
        'CLI_USAGE',
        '--secrets-from-stdin needs piped input, but stdin is a terminal.',
        {
          hint: 'Leave the flag out to type the secrets at a hidden prompt, or pipe JSON: `… --secrets-from-stdin < secrets.json`.',
        },
      );
    }
    const text = await readAll(io.stdin, MAX_BYTES);
    return { ...parseSecretsJson(text, authMode, 'stdin'), source: 'stdin' };
  }
  if (sources.secretsFile !== undefined) {
    const text = await readSecretsFile(io, sources.secretsFile);
    return { ...parseSecretsJson(text, authMode, '--secrets-file'), source: 'file' };
  }
  if (!isInteractive(io)) {
    throw new CliError('CLI_USAGE', 'No secrets given, and there is no terminal to ask for them.', {
      hint: `Pipe them with --secrets-from-stdin or name a file with --secrets-file. ${exampleHint(authMode)}`,
    });
  }
  const secrets: Partial<Record<SecretKey, Secret>> = {};
  for (const { key, prompt } of SECRET_FIELDS[authMode]) {
    let value = '';
    while (value === '') {
      value = await io.prompts.password(`${prompt} (hidden)`);
      if (value === '') io.stderr.write('A value is required.\n');
    }
    secrets[key] = new Secret(value);
  }
  return { secrets, plain: {}, source: 'prompt' };
}

async function readSecretsFile(io: CliIo, file: string): Promise<string> {
  const path = resolve(io.cwd, file);
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new CliError('CLI_INPUT_INVALID', 'The --secrets-file is not a file.');
    }
    if (info.size > MAX_BYTES) {
      throw new CliError(
        'CLI_INPUT_INVALID',
        `The --secrets-file is larger than ${MAX_BYTES} bytes.`,
      );
    }
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      io.stderr.write(
        'warning: the --secrets-file can be read by other users: restrict it (chmod 600) or delete it after use.\n',
      );
    }
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError('CLI_INPUT_INVALID', `The --secrets-file could not be read (${code}).`, {
      hint: 'Give the path of a JSON file (relative to the current directory).',
    });
  }
}
