/**
 * Issue 12 §1 and §2 at the CLI: `doctor` says line by line what works against the sandbox (its
 * token endpoint on an origin of its own, as in production) and names the setting to change;
 * client-credentials orgs are told what they can do, offered app_user_token, and refused
 * rules and reports that need user endpoints when they are configured; an org's own token URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_CREDENTIALS_NOTE } from '../../../bin/orgs/app-scope.ts';
import { type CliHarness, noPrompts, passwordSecrets, startCliHarness } from './support.ts';

let h: CliHarness;
let orgId: string;

const APP_ORG = 'orgAppOnly01';
const APP_CLIENT = { clientId: '4101', clientSecret: 'app-secret-4101-never-printed' };
const USER_ORG = 'orgAppUser01';
const USER_CLIENT = { clientId: '4102', clientSecret: 'app-secret-4102-never-printed' };

interface Check {
  check: string;
  orgId?: string;
  status: string;
  detail: string;
  setting?: string;
}

beforeAll(async () => {
  h = await startCliHarness('doctor');
  orgId = h.sandbox.demo.orgId;
  const { sandbox } = h;
  sandbox.addOrg({ id: APP_ORG, name: 'App only' });
  sandbox.addClient({ ...APP_CLIENT, orgId: APP_ORG });
  sandbox.addOrg({ id: USER_ORG, name: 'App user' });
  sandbox.addClient({ ...USER_CLIENT, orgId: USER_ORG });
  sandbox.addUser({
    id: 'u-app-user',
    orgId: USER_ORG,
    email: 'robot@example.com',
    password: 'robot-password-never-used',
    role: 'admin',
  });
  const added = await h.run(
    [
      'orgs',
      'add',
      orgId,
      '--client-id',
      sandbox.demo.passwordClient.clientId,
      '--username',
      sandbox.demo.admin.email,
      '--secrets-from-stdin',
    ],
    { stdin: passwordSecrets(sandbox) },
  );
  expect(added.code, added.stderr).toBe(0);
});

afterAll(async () => {
  await h?.close();
});

describe('doctor', () => {
  it('against a working configuration prints every check as passed', async () => {
    const run = await h.run(['doctor', orgId, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: Check[] };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['token_endpoint', 'pass'],
      ['api', 'pass'],
      ['grant', 'pass'],
      ['me', 'pass'],
      ['membership', 'pass'],
      ['user_endpoints', 'pass'],
    ]);
    const text = await h.run(['doctor']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`token endpoint ${h.sandbox.tokenUrl}`);
    expect(text.stdout).toMatch(/All \d+ checks passed\./);
    expect(text.stdout).not.toMatch(/FAIL/);
  });

  it('with a wrong token URL fails the token endpoint and the grant, naming TALLYFY_TOKEN_URL', async () => {
    // the path a client would derive from the API base: on Tallyfy, as here, it is no token endpoint
    const wrong = `${h.sandbox.url}/oauth/token`;
    const run = await h.run(['--oauth-url', wrong, 'doctor', orgId, '--json']);
    expect(run.code).toBe(8);
    const { error } = JSON.parse(run.stdout) as {
      error: { code: string; hint: string; details: { checks: Check[] } };
    };
    expect(error.code).toBe('CLI_CHECKS_FAILED');
    expect(error.hint).toContain('TALLYFY_TOKEN_URL');
    const byName = new Map(error.details.checks.map((c) => [c.check, c]));
    expect(byName.get('token_endpoint')).toMatchObject({
      status: 'fail',
      setting: 'TALLYFY_TOKEN_URL',
    });
    expect(byName.get('grant')).toMatchObject({ status: 'fail', setting: 'TALLYFY_TOKEN_URL' });
    expect(byName.get('grant')?.detail).toContain('TALLYFY_OAUTH_ENDPOINT_INVALID');
    expect(byName.get('api')?.status).toBe('pass');
    const text = await h.run(['--oauth-url', wrong, 'doctor', orgId]);
    expect(text.code).toBe(8);
    expect(text.stdout).toMatch(/FAIL {2}token_endpoint/);
    expect(text.stdout).toContain('→ change TALLYFY_TOKEN_URL');
    expect(text.stderr).toMatch(/error: 2 of \d+ checks failed: token_endpoint, .* grant/);
  });

  it("an org's own token URL takes its grants: set, shown, used by doctor, and removed", async () => {
    const wrong = `${h.sandbox.url}/oauth/token`;
    const set = await h.run(['orgs', 'set-oauth-url', orgId, h.sandbox.tokenUrl, '--json']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout).org.tokenUrl).toBe(h.sandbox.tokenUrl);
    // the deployment's URL is wrong, the org's is right: the org's checks pass
    const run = await h.run(['--oauth-url', wrong, 'doctor', orgId, '--json']);
    const checks = (JSON.parse(run.stdout) as { error: { details: { checks: Check[] } } }).error
      .details.checks;
    expect(checks.filter((c) => c.orgId === orgId).map((c) => [c.check, c.status])).toEqual([
      ['token_endpoint', 'pass'],
      ['grant', 'pass'],
      ['me', 'pass'],
      ['membership', 'pass'],
      ['user_endpoints', 'pass'],
    ]);
    expect(checks.find((c) => c.orgId === undefined && c.check === 'token_endpoint')?.status).toBe(
      'fail',
    );
    const shown = await h.run(['orgs', 'show', orgId]);
    expect(shown.stdout).toContain(`Token URL:`);
    const bad = await h.run(['orgs', 'set-oauth-url', orgId, 'not a url']);
    expect(bad.code).toBe(2);
    const cleared = await h.run(['orgs', 'set-oauth-url', orgId, 'default', '--json']);
    expect(JSON.parse(cleared.stdout).org.tokenUrl).toBeNull();
  });
});

describe('client-credentials orgs', () => {
  it('orgs add explains what the mode can do and registers an app token', async () => {
    const run = await h.run(
      [
        'orgs',
        'add',
        APP_ORG,
        '--auth-mode',
        'client_credentials',
        '--client-id',
        APP_CLIENT.clientId,
        '--secrets-from-stdin',
        '--json',
      ],
      { stdin: JSON.stringify({ clientSecret: APP_CLIENT.clientSecret }) },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(CLIENT_CREDENTIALS_NOTE);
    expect(run.stderr).toContain('app_user_token');
    const { validation } = JSON.parse(run.stdout) as {
      validation: { grant: string; tokenScope: string; checks: Check[] };
    };
    expect(validation).toMatchObject({ grant: 'client_credentials', tokenScope: 'app' });
    // what it probed, line by line: the app token serves no user-scoped endpoint
    expect(validation.checks.map((c) => [c.check, c.status])).toEqual([
      ['token_endpoint', 'pass'],
      ['grant', 'pass'],
      ['me', 'skip'],
      ['app_endpoints', 'pass'],
      ['user_endpoints', 'warn'],
    ]);
  });

  it('orgs add probes the token endpoint first: a wrong one names TALLYFY_TOKEN_URL and saves nothing', async () => {
    const run = await h.run(
      [
        '--oauth-url',
        `${h.sandbox.url}/oauth/token`,
        'orgs',
        'add',
        'orgNeverSaved',
        '--auth-mode',
        'client_credentials',
        '--client-id',
        APP_CLIENT.clientId,
        '--secrets-from-stdin',
      ],
      { stdin: JSON.stringify({ clientSecret: APP_CLIENT.clientSecret }) },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /error: The token endpoint does not work: .* is not an OAuth token endpoint/,
    );
    expect(run.stderr).toMatch(/hint: Change TALLYFY_TOKEN_URL\./);
    expect(await h.registry.getOrg('orgNeverSaved')).toBeUndefined();
  });

  it('refuses rules that need user endpoints and reports, when they are configured', async () => {
    const launch = JSON.stringify({
      when: { event: 'task.completed' },
      // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
      then: [{ type: 'launch_process', template: 'c1', name: 'Never' }],
    });
    const refused = await h.run(
      ['rules', 'add', APP_ORG, '--id', 'launch', '--file', '-', '--json'],
      {
        stdin: launch,
      },
    );
    expect(refused.code).toBe(4);
    const { error } = JSON.parse(refused.stdout) as {
      error: { code: string; hint: string; details: { needs: string[] } };
    };
    expect(error.code).toBe('CLI_AUTH_MODE_UNSUPPORTED');
    expect(error.details.needs).toEqual(['launch_process']);
    expect(error.hint).toContain('app_user_token');
    expect(await h.registry.getRule(APP_ORG, 'launch')).toBeUndefined();
    // what an app token can do is accepted
    const publish = JSON.stringify({
      when: { event: 'task.completed' },
      // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
      then: [{ type: 'publish', detailType: 'Seen' }],
    });
    expect(
      (await h.run(['rules', 'add', APP_ORG, '--id', 'publish', '--file', '-'], { stdin: publish }))
        .code,
    ).toBe(0);
    const report = await h.run(['report', 'run', APP_ORG, '--json']);
    expect(report.code).toBe(4);
    expect(JSON.parse(report.stdout).error.code).toBe('CLI_AUTH_MODE_UNSUPPORTED');
  });

  it('doctor names the endpoints an app token cannot serve, and fails when a rule needs them', async () => {
    const warned = await h.run(['doctor', APP_ORG, '--json']);
    expect(warned.code).toBe(0);
    const checks = (JSON.parse(warned.stdout) as { checks: Check[] }).checks.filter(
      (c) => c.orgId === APP_ORG,
    );
    expect(checks.map((c) => [c.check, c.status])).toEqual([
      ['grant', 'pass'],
      ['me', 'skip'],
      ['membership', 'skip'],
      ['app_endpoints', 'pass'],
      ['user_endpoints', 'warn'],
    ]);
    // a rule stored before the refusal existed (or by other means) cannot run: a failure
    await h.registry.putRule(APP_ORG, {
      ruleId: 'old-comment',
      body: {
        when: { event: 'task.completed' },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'comment_on_task', content: 'Seen.' }],
      },
    });
    const failed = await h.run(['doctor', APP_ORG]);
    expect(failed.code).toBe(8);
    expect(failed.stdout).toMatch(
      /FAIL {2}user_endpoints +user-scoped endpoints \(templates, processes, tasks, \/me\) refuse this app token \(401\): rule old-comment \(comment_on_task\) cannot run; the reconciler and the reports skip the org/,
    );
    expect(failed.stdout).toContain('--auth-mode app_user_token');
    await h.registry.deleteRule(APP_ORG, 'old-comment');
  });

  it('orgs add in a terminal offers app_user_token instead, and registers the app user token', async () => {
    const asked: string[] = [];
    const run = await h.run(
      [
        'orgs',
        'add',
        USER_ORG,
        '--auth-mode',
        'client_credentials',
        '--client-id',
        USER_CLIENT.clientId,
      ],
      {
        tty: true,
        prompts: {
          ...noPrompts,
          confirm: async (message) => {
            asked.push(message);
            return true;
          },
          text: async (message) => {
            asked.push(message);
            return 'robot@example.com';
          },
          password: async (message) => {
            asked.push(message);
            return USER_CLIENT.clientSecret;
          },
        },
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(asked[0]).toMatch(/app_user_token instead/);
    expect(asked.slice(1)).toEqual([
      'E-mail of the user the app acts for',
      expect.stringMatching(/^App client secret/),
    ]);
    expect((await h.registry.getOrg(USER_ORG))?.authMode).toBe('app_user_token');
    const doctor = await h.run(['doctor', USER_ORG, '--json']);
    expect(doctor.code, doctor.stdout).toBe(0);
    const checks = (JSON.parse(doctor.stdout) as { checks: Check[] }).checks.filter(
      (c) => c.orgId === USER_ORG,
    );
    expect(checks.map((c) => [c.check, c.status])).toEqual([
      ['grant', 'pass'],
      ['app_endpoints', 'pass'],
      ['me', 'pass'],
      ['membership', 'pass'],
      ['user_endpoints', 'pass'],
    ]);
  });

  it('no output of this file holds a credential or a token', () => {
    const all = h.transcript();
    for (const secret of [
      APP_CLIENT.clientSecret,
      USER_CLIENT.clientSecret,
      h.sandbox.demo.passwordClient.clientSecret,
      h.sandbox.demo.admin.password,
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toMatch(/Bearer [A-Za-z0-9_-]{20,}/);
  });
});
