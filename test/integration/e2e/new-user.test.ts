/**
 * Issue 6's acceptance, as a new user meets the project: `npm start` runs as a child process
 * (pointed at a Tallyfy sandbox that stands for the user's own Tallyfy, so no demo org), and the
 * CLI runs as separate child processes against it: add an org, see its token healthy, add an
 * automation rule, post a fixture webhook to the printed URL, see the automation's effect in
 * Tallyfy, list and replay a dead letter, run a report. No secret in any output.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import {
  eventually,
  type NpmStart,
  npmStart,
  REPO_ROOT,
  readState,
  tempDataDir,
  untilReady,
} from '../local-mode/support.ts';

const FIXTURE = join(REPO_ROOT, 'test/unit/webhooks/fixtures/task-completed.json');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let sandbox: StartedSandbox;
let dataDir: string;
let local: NpmStart;
const transcripts: string[] = [];

/** `tallyfy-serverless …` as a user runs it from the checkout (`npm run cli -- …`). */
function cli(argv: readonly string[], stdin?: string): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/tallyfy-serverless.ts', '--data-dir', dataDir, ...argv],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => {
      transcripts.push(stdout, stderr);
      done({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

function json<T>(result: CliResult): T {
  expect(result.stderr, result.stderr).not.toMatch(/error/i);
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  sandbox = await startSandbox();
  dataDir = tempDataDir('new-user');
  local = npmStart({
    PORT: '0',
    DATA_DIR: dataDir,
    TALLYFY_BASE_URL: sandbox.url,
    TALLYFY_TOKEN_URL: sandbox.tokenUrl,
    // the test drives every run itself
    REFRESH_INTERVAL_MINUTES: '60',
    RECONCILE_INTERVAL_MINUTES: '1440',
  });
  await untilReady(local);
}, 90_000);

afterAll(async () => {
  if (local) expect(await local.stop('SIGINT')).toBe(0);
  await sandbox?.close();
});

describe('a new user with npm start and the CLI', () => {
  test('add an org, see its token healthy, run an automation from a webhook, replay a dead letter, run a report', async () => {
    const { demo } = sandbox;
    const orgId = demo.orgId;
    const secrets = {
      clientSecret: demo.passwordClient.clientSecret,
      password: demo.admin.password,
    };

    // local mode runs no sandbox and no demo org when TALLYFY_BASE_URL names a Tallyfy
    const state = readState(dataDir);
    expect(state.demo).toBeUndefined();
    expect((await cli(['orgs', 'list', '--json'])).stdout).not.toContain(orgId);

    // 1. add the org: a real grant against Tallyfy, secrets from stdin, the URL printed once
    const added = await cli(
      [
        'orgs',
        'add',
        orgId,
        '--client-id',
        demo.passwordClient.clientId,
        '--username',
        demo.admin.email,
        '--secrets-from-stdin',
      ],
      JSON.stringify(secrets),
    );
    expect(added.code, added.stderr).toBe(0);
    const webhookUrl = added.stdout.match(/https?:\/\/\S+\/hooks\/\S+/)?.[0];
    expect(webhookUrl).toBeDefined();
    expect(webhookUrl?.startsWith(`${state.outputs.WebhookBaseUrl}/${orgId}/`)).toBe(true);

    // 2. its token is healthy
    const status = json<unknown>(await cli(['tokens', 'status', orgId, '--json']));
    expect(JSON.stringify(status)).toMatch(/"healthy"/);

    // 3. two rules: one launches a process and comments; one completes a task that does not
    // exist, a permanent failure that dead-letters the event with its reason
    const goodRule = {
      when: { event: 'task.completed', step: { alias: 'approve-po' } },
      // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
      then: [
        {
          type: 'launch_process',
          template: demo.templates.onboarding.id,
          name: 'Onboard after {{task.title}}',
        },
        { type: 'comment_on_task', content: 'Launched {{actions.0.runId}}' },
      ],
    };
    const brokenRule = {
      when: { event: 'task.completed' },
      // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
      then: [{ type: 'complete_task', task: 'tDoesNotExist0000000000000000000' }],
    };
    for (const [id, body] of [
      ['onboard', goodRule],
      ['broken', brokenRule],
    ] as const) {
      const rule = await cli(
        ['rules', 'add', orgId, '--id', id, '--file', '-'],
        JSON.stringify(body),
      );
      expect(rule.code, rule.stderr).toBe(0);
    }

    // 4. post a fixture webhook to the printed URL, as Tallyfy would
    const runsBefore = sandbox.store.runsOf(orgId).length;
    const posted = await fetch(webhookUrl ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tallyfy-orgid': orgId },
      body: readFileSync(FIXTURE, 'utf8'),
    });
    expect(posted.status).toBe(202);

    // 5. the automation's effect in Tallyfy: one process launched, one comment on the task
    const launched = await eventually(async () => {
      const runs = sandbox.store.runsOf(orgId).slice(runsBefore);
      return runs.length > 0 ? runs : undefined;
    }, 'the launched process');
    expect(launched).toHaveLength(1);
    // the name ends with the launch's marker: a retry in doubt finds it with one search
    expect(launched[0]?.name).toMatch(
      /^Onboard after Approve purchase order \[tsf-[0-9a-f]{16}\]$/,
    );
    await eventually(
      async () => (sandbox.store.commentsOf(demo.tasks.approvePo).length === 1 ? true : undefined),
      'the comment on the approved task',
    );

    // 6. the broken rule dead-lettered the event: listed with its reason, then replayed once
    // the rule is fixed (removed); the launch is not repeated
    const letters = await eventually(
      async () => {
        const listed = await cli(['dlq', 'list', '--json']);
        if (listed.code !== 0) return undefined;
        const items = (JSON.parse(listed.stdout) as { deadLetters: unknown[] }).deadLetters;
        return items.length > 0 ? items : undefined;
      },
      'a dead letter',
      30_000,
    );
    expect(letters).toHaveLength(1);
    expect(JSON.stringify(letters)).toMatch(/broken/);
    expect((await cli(['rules', 'remove', orgId, 'broken'])).code).toBe(0);
    const replayed = await cli(['dlq', 'replay', '--all', '--json']);
    expect(replayed.code, replayed.stderr).toBe(0);
    await eventually(async () => {
      const listed = await cli(['dlq', 'list', '--json']);
      if (listed.code !== 0) return undefined;
      const items = (JSON.parse(listed.stdout) as { deadLetters: unknown[] }).deadLetters;
      return items.length === 0 ? true : undefined;
    }, 'an empty dead-letter queue');
    await eventually(
      async () => {
        const events = join(dataDir, 'events.jsonl');
        if (!existsSync(events)) return undefined;
        return readFileSync(events, 'utf8').includes('"Task Completed"') ? true : undefined;
      },
      'the Task Completed event on the bus after the replay',
      30_000,
    );
    expect(sandbox.store.runsOf(orgId).length).toBe(runsBefore + 1);
    expect(sandbox.store.commentsOf(demo.tasks.approvePo)).toHaveLength(1);

    // 7. a report, written under the local reports directory
    const report = await cli(['report', 'run', orgId, '--json']);
    expect(report.code, report.stderr).toBe(0);
    const reportDir = join(dataDir, 'reports', orgId);
    expect(existsSync(reportDir)).toBe(true);
    expect(readdirSync(join(reportDir, 'latest')).some((f) => f.endsWith('.json'))).toBe(true);

    // no credential, password, token or webhook secret in any output of the CLI or local mode
    const stored = readFileSync(join(dataDir, 'secrets.json'), 'utf8');
    const tokens = [...stored.matchAll(/"(?:accessToken|refreshToken)\\?"\s*:\s*\\?"([^"\\]+)/g)]
      .map((m) => m[1] ?? '')
      .filter((t) => t.length >= 16);
    expect(tokens.length, 'the stored tokens were found to search for').toBeGreaterThan(0);
    const urlSecret = webhookUrl?.split('/').at(-1) ?? '';
    const everything = [
      ...transcripts.filter((t) => t !== added.stdout),
      local.stdout(),
      local.stderr(),
    ].join('\n');
    for (const secret of [secrets.clientSecret, secrets.password, urlSecret, ...tokens]) {
      expect(everything.includes(secret), 'a secret in the output').toBe(false);
    }
    // the URL (and its secret) is printed once, by `orgs add`, and nowhere else
    expect(added.stdout).toContain(urlSecret);
  }, 180_000);
});
