/**
 * `rules add|list|test|remove` against DynamoDB Local, and the CLI run as a child process
 * (`node --import tsx bin/tallyfy-serverless.ts …`) the way a user and the e2e test run it.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHarness, noPrompts, passwordSecrets, startCliHarness } from './support.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURE = join(ROOT, 'test/unit/webhooks/fixtures/task-completed.json');

let h: CliHarness;
let orgId: string;

const rule = {
  description: 'Issue the PO once approved',
  when: {
    event: 'task.completed',
    step: { alias: 'approve-po' },
    fields: { 'approval-decision': 'Approved' },
  },
  // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
  then: [
    {
      type: 'comment_on_task',
      content: 'Approved for {{fields.vendor}}: {{fields.approved-amount}}',
    },
    {
      type: 'http_post',
      url: 'https://hooks.example.com/po',
      secret: { value: 'signing-secret-of-the-rule-0123456789' },
    },
  ],
};

beforeAll(async () => {
  h = await startCliHarness('rules');
  orgId = h.sandbox.demo.orgId;
  const add = await h.run(
    [
      'orgs',
      'add',
      orgId,
      '--client-id',
      h.sandbox.demo.passwordClient.clientId,
      '--username',
      h.sandbox.demo.admin.email,
      '--secrets-from-stdin',
      '--no-refresh',
    ],
    { stdin: passwordSecrets(h.sandbox) },
  );
  expect(add.code).toBe(0);
});

afterAll(async () => {
  await h?.close();
});

describe('rules', () => {
  it('add checks the body against the rules schema before storing it', async () => {
    const bad = await h.run(['rules', 'add', orgId, '--id', 'broken', '--file', '-'], {
      stdin: '{"when": {"event": "task.completed"}, "then": [{"type": "explode"}]}',
    });
    expect(bad.code).toBe(2);
    expect(await h.registry.getRule(orgId, 'broken')).toBeUndefined();
    const file = join(h.dataDir, 'rule.json');
    await writeFile(file, JSON.stringify(rule));
    const run = await h.run(['rules', 'add', orgId, '--id', 'po-approved', '--file', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Added rule po-approved/);
    expect((await h.registry.getRule(orgId, 'po-approved'))?.body).toEqual(rule);
    expect((await h.run(['rules', 'add', 'orgNope', '--id', 'x', '--file', file])).code).toBe(3);
  });

  it('list shows the rules, with a signing secret kept in a rule hidden', async () => {
    const human = await h.run(['rules', 'list', orgId]);
    expect(human.stdout).toMatch(
      /po-approved\s+yes\s+task.completed\s+comment_on_task → http_post/,
    );
    const json = await h.run(['rules', 'list', orgId, '--json']);
    expect(JSON.parse(json.stdout).rules[0].body.then[1].secret).toEqual({ value: '[redacted]' });
    expect(json.stdout).not.toContain('signing-secret-of-the-rule');
  });

  it('test dry-runs the rule against a fixture: it matches and shows the rendered actions, with no side effect', async () => {
    const commentsBefore = h.sandbox.stats().requests;
    const run = await h.run(['rules', 'test', orgId, '--event', FIXTURE, '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.dryRun).toBe(true);
    expect(out.event.type).toBe('task.completed');
    expect(out.rules[0]).toMatchObject({ ruleId: 'po-approved', matched: true });
    expect(out.rules[0].actions[0]).toMatchObject({
      type: 'comment_on_task',
      would: { content: 'Approved for Northwind Traders: 12500' },
    });
    expect(out.rules[0].actions[1].would.secret).toEqual({ value: '[redacted]' });
    expect(h.sandbox.stats().requests).toEqual(commentsBefore);
    const human = await h.run(['rules', 'test', orgId, 'po-approved', '--event', FIXTURE]);
    expect(human.stdout).toMatch(/✓ po-approved: matches; would run:/);
    expect(human.stdout).toMatch(/Dry run: nothing was sent/);
  });

  it('test reports a rule that does not match the event, read from stdin', async () => {
    const launched = await readFile(
      join(ROOT, 'test/unit/webhooks/fixtures/process-launched.json'),
      'utf8',
    );
    const run = await h.run(['rules', 'test', orgId, '--event', '-', '--json'], {
      stdin: launched,
    });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.event.type).toBe('process.launched');
    expect(out.rules[0]).toMatchObject({ ruleId: 'po-approved', matched: false, actions: [] });
  });

  it('remove deletes the rule; removing it again exits 3', async () => {
    expect((await h.run(['rules', 'remove', orgId, 'po-approved'])).code).toBe(0);
    expect(await h.registry.getRule(orgId, 'po-approved')).toBeUndefined();
    expect((await h.run(['rules', 'remove', orgId, 'po-approved'])).code).toBe(3);
  });
});

function child(
  argv: readonly string[],
  stdin = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/tallyfy-serverless.ts', '--data-dir', h.dataDir, ...argv],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    proc.on('error', fail);
    proc.on('close', (code) => done({ code, stdout, stderr }));
    proc.stdin.end(stdin);
  });
}

describe('as a child process', () => {
  it('runs `node --import tsx bin/tallyfy-serverless.ts` with exit codes and JSON, and prints no secret', async () => {
    const [list, secretFlag, status] = await Promise.all([
      child(['orgs', 'list', '--json']),
      child(['orgs', 'add', orgId, `--password=${h.sandbox.demo.admin.password}`]),
      child(['tokens', 'status', orgId]),
    ]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).orgs[0].orgId).toBe(orgId);
    expect(secretFlag.code).toBe(2);
    expect(secretFlag.stderr).toMatch(/--password is not accepted/);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${orgId}\\s+password\\s+pending`));
    for (const run of [list, secretFlag, status]) {
      expect(`${run.stdout}${run.stderr}`).not.toContain(h.sandbox.demo.admin.password);
      expect(`${run.stdout}${run.stderr}`).not.toContain(
        h.sandbox.demo.passwordClient.clientSecret,
      );
    }
  });
});

describe('at a terminal', () => {
  it('remove asks to confirm, and add asks for every field with secrets at hidden prompts', async () => {
    const asked: string[] = [];
    const declined = await h.run(['orgs', 'remove', orgId], {
      tty: true,
      prompts: {
        ...noPrompts,
        confirm: async (message) => {
          asked.push(message);
          return false;
        },
      },
    });
    expect(declined.code).toBe(130);
    expect(await h.registry.getOrg(orgId)).toBeDefined();
    const removed = await h.run(['orgs', 'remove', orgId], {
      tty: true,
      prompts: { ...noPrompts, confirm: async () => true },
    });
    expect(removed.code).toBe(0);

    const answers: Record<string, string> = {
      'Tallyfy org id': orgId,
      'Auth mode (number or name)': '1',
      'OAuth client id (numeric)': h.sandbox.demo.passwordClient.clientId,
      'Tallyfy username (e-mail)': h.sandbox.demo.admin.email,
    };
    const hidden: Record<string, string> = {
      'OAuth client secret (hidden)': h.sandbox.demo.passwordClient.clientSecret,
      'Tallyfy password (hidden)': h.sandbox.demo.admin.password,
    };
    const added = await h.run(['orgs', 'add', '--no-refresh'], {
      tty: true,
      prompts: {
        ...noPrompts,
        text: async (message) => {
          asked.push(message);
          const answer = answers[message];
          if (answer === undefined) throw new Error(`unexpected prompt ${message}`);
          return answer;
        },
        password: async (message) => {
          asked.push(message);
          const answer = hidden[message];
          if (answer === undefined) throw new Error(`unexpected prompt ${message}`);
          return answer;
        },
      },
    });
    expect(added.code).toBe(0);
    expect(asked).toEqual([
      expect.stringMatching(/^Remove org/),
      ...Object.keys(answers),
      ...Object.keys(hidden),
    ]);
    expect((await h.registry.getOrg(orgId))?.authMode).toBe('password');
    expect(added.stdout + added.stderr).not.toContain(h.sandbox.demo.admin.password);
    expect(added.stdout + added.stderr).not.toContain(h.sandbox.demo.passwordClient.clientSecret);
  });
});
