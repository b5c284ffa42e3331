/**
 * No CLI path accepts a secret in argv: every option of every command is enumerated from the
 * command tree, and none is named like a secret (except the two that name a secret SOURCE and
 * take no secret value); secret-looking flags are refused before parsing, without echoing them.
 */
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  assertNoSecretOptions,
  isSecretLikeOptionName,
  SECRET_SOURCE_OPTIONS,
} from '../../../bin/argv-guard.ts';
import { runCli } from '../../../bin/cli.ts';
import type { CliIo } from '../../../bin/io.ts';
import { buildProgram } from '../../../bin/program.ts';

function io(stdin = ''): { io: CliIo; out: () => string; err: () => string } {
  const streams = {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
  };
  let out = '';
  let err = '';
  streams.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  streams.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  streams.stdin.end(stdin);
  const refuse = async () => {
    throw new Error('no prompt expected');
  };
  return {
    io: {
      ...streams,
      env: {},
      cwd: '/nonexistent',
      prompts: { text: refuse, password: refuse, confirm: refuse },
    },
    out: () => out,
    err: () => err,
  };
}

function commands(root: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return [
    { path, command: root },
    ...root.commands.flatMap((sub) => commands(sub, [...path, sub.name()])),
  ];
}

const tree = commands(buildProgram(io().io));
const leaves = tree.filter(({ command }) => command.commands.length === 0);

describe('the command tree', () => {
  it('has the commands of the issue', () => {
    const names = leaves.map(({ path }) => path.join(' '));
    expect(names).toEqual(
      expect.arrayContaining([
        'orgs add',
        'orgs list',
        'orgs show',
        'orgs disable',
        'orgs enable',
        'orgs remove',
        'tokens status',
        'tokens refresh',
        'webhooks url',
        'webhooks rotate-secret',
        'webhooks subscribe',
        'rules list',
        'rules add',
        'rules remove',
        'rules test',
        'dlq list',
        'dlq replay',
        'report run',
        'doctor',
        'orgs set-oauth-url',
      ]),
    );
  });

  it('no option of any command is named like a secret, except the secret sources', () => {
    const options = tree.flatMap(({ path, command }) =>
      command.options.map((option) => ({
        where: path.join(' ') || '(global)',
        name: option.long ?? option.short ?? '',
      })),
    );
    expect(options.length).toBeGreaterThan(30);
    const secretLike = options.filter(
      ({ name }) => isSecretLikeOptionName(name) || /secret|token|key|pass/i.test(name),
    );
    // the only matches are the two source options of `orgs add`, which take a flag and a path
    expect(secretLike.map(({ where, name }) => `${where} ${name}`).sort()).toEqual([
      'orgs add --secrets-file',
      'orgs add --secrets-from-stdin',
    ]);
    const add = tree.find(({ path }) => path.join(' ') === 'orgs add')?.command;
    const fromStdin = add?.options.find((o) => o.long === '--secrets-from-stdin');
    const file = add?.options.find((o) => o.long === '--secrets-file');
    expect(fromStdin?.isBoolean()).toBe(true);
    expect(file?.flags).toBe('--secrets-file <path>');
    expect(SECRET_SOURCE_OPTIONS).toEqual(['secrets-from-stdin', 'secrets-file']);
  });

  it('no command takes a positional argument for a secret', () => {
    const names = leaves.flatMap(({ command }) => command.registeredArguments.map((a) => a.name()));
    expect(names.filter((name) => /secret|token|key|pass/i.test(name))).toEqual([]);
  });

  it.each(leaves.map(({ path }) => [path.join(' ')]))(
    '`%s --help` shows examples and exits 0',
    async (path) => {
      const run = io();
      const code = await runCli([...path.split(' '), '--help'], run.io);
      expect(code).toBe(0);
      expect(run.out()).toMatch(/Examples:\n {2}(\$|#) /);
    },
  );
});

describe('secret-looking flags are refused before anything runs', () => {
  const secret = 'S3cr3t-value-that-must-not-echo';
  it.each([
    ['--password', secret],
    [`--password=${secret}`],
    ['--client-secret', secret],
    ['--clientSecret', secret],
    ['--refresh-token', secret],
    ['--token', secret],
    ['--api-key', secret],
    ['--pat', secret],
    ['--no-password'],
    ['--app-client-secret', secret],
  ])('%s', async (...args) => {
    for (const command of [
      ['orgs', 'add', 'org1'],
      ['tokens', 'refresh', 'org1'],
      ['webhooks', 'url', 'org1'],
    ]) {
      const run = io();
      const code = await runCli(
        [...command, ...args.filter((a): a is string => a !== undefined)],
        run.io,
      );
      expect(code).toBe(2);
      expect(run.err()).toMatch(/is not accepted: secrets are never taken from the command line/);
      expect(run.out() + run.err()).not.toContain(secret);
    }
  });

  it('with --json the refusal is a JSON error on stdout', async () => {
    const run = io();
    expect(
      await runCli(['orgs', 'add', 'org1', '--json', `--client-secret=${secret}`], run.io),
    ).toBe(2);
    expect(JSON.parse(run.out()).error.code).toBe('CLI_SECRET_ON_ARGV');
    expect(run.out()).not.toContain(secret);
  });

  it('lets ordinary options and operands after `--` through', () => {
    expect(() =>
      assertNoSecretOptions([
        'orgs',
        'add',
        'org1',
        '--client-id',
        '3127',
        '--auth-mode',
        'password',
        '--secrets-from-stdin',
      ]),
    ).not.toThrow();
    expect(() => assertNoSecretOptions(['rules', 'add', 'org1', '--', '--password'])).not.toThrow();
    expect(isSecretLikeOptionName('keep-old-watchers')).toBe(false);
    expect(isSecretLikeOptionName('issued-at')).toBe(false);
  });
});
