/**
 * The CLI against real local engines (DynamoDB Local, local Secrets Manager, the Tallyfy
 * sandbox, local mode's admin server with the real token refresher): orgs, tokens, webhooks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAT_WARNING } from '../../../bin/commands/orgs.ts';
import { Secret } from '../../../shared/secret.ts';
import { verifyWebhookSecret } from '../../../shared/webhooks/index.ts';
import { type CliHarness, passwordSecrets, startCliHarness } from './support.ts';

let h: CliHarness;
let orgId: string;
let webhookUrl: string;

const secretOf = (url: string) => new Secret(url.slice(url.lastIndexOf('/') + 1));

beforeAll(async () => {
  h = await startCliHarness('orgs');
  orgId = h.sandbox.demo.orgId;
});

afterAll(async () => {
  await h?.close();
});

describe('orgs add', () => {
  it('refuses wrong credentials with exit 5 and saves nothing', async () => {
    const secrets = JSON.stringify({
      clientSecret: h.sandbox.demo.passwordClient.clientSecret,
      password: 'not-the-password',
    });
    const run = await h.run(
      [
        'orgs',
        'add',
        orgId,
        '--client-id',
        h.sandbox.demo.passwordClient.clientId,
        '--username',
        h.sandbox.demo.admin.email,
        '--secrets-from-stdin',
      ],
      { stdin: secrets },
    );
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/Tallyfy rejected the credentials/);
    expect(await h.registry.getOrg(orgId)).toBeUndefined();
    await expect(h.store.readCredentials(orgId)).rejects.toMatchObject({
      code: 'TOKENS_SECRET_NOT_FOUND',
    });
  });

  it('refuses an org the user does not belong to (a mistyped org id) with exit 5', async () => {
    const run = await h.run(
      [
        'orgs',
        'add',
        'orgTypo123',
        '--client-id',
        h.sandbox.demo.passwordClient.clientId,
        '--username',
        h.sandbox.demo.admin.email,
        '--secrets-from-stdin',
      ],
      { stdin: passwordSecrets(h.sandbox) },
    );
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/not a member of org orgTypo123/);
    expect(await h.registry.getOrg('orgTypo123')).toBeUndefined();
  });

  it('warns, for a personal access token org, that the PAT itself becomes readable by every reader role', async () => {
    const run = await h.run(
      [
        'orgs',
        'add',
        'orgPat12345',
        '--auth-mode',
        'personal_access_token',
        '--secrets-from-stdin',
      ],
      { stdin: JSON.stringify({ token: 'not-a-valid-personal-access-token' }) },
    );
    expect(run.stderr).toContain(`warning: ${PAT_WARNING}`);
    expect(run.stderr).toMatch(/prefer --auth-mode password or app_user_token/);
    // the warning comes before the check; the invalid token is still refused and nothing saved
    expect(run.code).toBe(5);
    expect(await h.registry.getOrg('orgPat12345')).toBeUndefined();
  });

  it('without a secrets source and without a terminal, explains the sources (exit 2)', async () => {
    const run = await h.run(['orgs', 'add', orgId, '--client-id', '1', '--username', 'a@b.c']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--secrets-from-stdin/);
  });

  it('checks the credentials with a password grant, stores them and prints the webhook URL once', async () => {
    const run = await h.run(
      [
        'orgs',
        'add',
        orgId,
        '--client-id',
        h.sandbox.demo.passwordClient.clientId,
        '--username',
        h.sandbox.demo.admin.email,
        '--secrets-from-stdin',
        '--json',
      ],
      { stdin: passwordSecrets(h.sandbox) },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    webhookUrl = out.webhookUrl;
    expect(webhookUrl.startsWith(`${h.webhookBaseUrl}/${orgId}/`)).toBe(true);
    expect(out.org).toMatchObject({
      orgId,
      name: h.sandbox.demo.orgName,
      authMode: 'password',
      status: 'active',
    });
    // the first token was stored by the refresher from the check's own grant: no second grant
    expect(out.refresh.outcome).toBe('recovered');
    expect(out.org.tokenState).toBe('healthy');
    const auth = await h.registry.findWebhookAuth(orgId);
    expect(verifyWebhookSecret(secretOf(webhookUrl), auth?.hashes ?? [])).toBe(true);
    const credentials = await h.store.readCredentials(orgId);
    expect(credentials.authMode).toBe('password');
    expect((await h.store.readToken(orgId))?.orgId).toBe(orgId);
  });

  it('refuses to register the same org twice (exit 4)', async () => {
    const run = await h.run(
      [
        'orgs',
        'add',
        orgId,
        '--client-id',
        h.sandbox.demo.passwordClient.clientId,
        '--username',
        h.sandbox.demo.admin.email,
        '--secrets-from-stdin',
      ],
      { stdin: passwordSecrets(h.sandbox) },
    );
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/already registered/);
  });
});

describe('orgs list / show / disable / enable', () => {
  it('lists the org with its token state', async () => {
    const human = await h.run(['orgs', 'list']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      new RegExp(`${orgId}\\s+${h.sandbox.demo.orgName}\\s+active\\s+password\\s+healthy`),
    );
    const json = JSON.parse((await h.run(['orgs', 'list', '--json'])).stdout);
    expect(json.orgs.map((o: { orgId: string }) => o.orgId)).toEqual([orgId]);
  });

  it('shows one org; an unknown org exits 3', async () => {
    const show = await h.run(['orgs', 'show', orgId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/Auth mode:\s+password/);
    expect(show.stdout).toMatch(/Token:\s+healthy/);
    const missing = await h.run(['orgs', 'show', 'orgNope', '--json']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout).error.code).toBe('CLI_ORG_NOT_FOUND');
  });

  it('disables and enables the org; tokens status follows', async () => {
    expect((await h.run(['orgs', 'disable', orgId])).code).toBe(0);
    expect((await h.registry.getOrg(orgId))?.status).toBe('disabled');
    const status = JSON.parse((await h.run(['tokens', 'status', '--json'])).stdout);
    expect(status.tokens[0]).toMatchObject({ orgId, state: 'disabled' });
    const refresh = await h.run(['tokens', 'refresh', orgId]);
    expect(refresh.code).toBe(4);
    const again = await h.run(['orgs', 'disable', orgId]);
    expect(again.stdout).toMatch(/already disabled/);
    expect((await h.run(['orgs', 'enable', orgId])).code).toBe(0);
    expect((await h.registry.getOrg(orgId))?.status).toBe('active');
  });
});

describe('tokens', () => {
  it('status shows mode, expiry, last refresh and state per org', async () => {
    const run = await h.run(['tokens', 'status']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ORG\s+AUTH\s+STATE\s+EXPIRES IN\s+LAST REFRESH\s+LAST ERROR/);
    expect(run.stdout).toMatch(new RegExp(`${orgId}\\s+password\\s+healthy\\s+\\d+[hm]`));
    const json = JSON.parse((await h.run(['tokens', 'status', orgId, '--json', '--check'])).stdout);
    expect(json.tokens[0].expiresInSeconds).toBeGreaterThan(0);
    expect(json.tokens[0].lastRefreshAt).toEqual(expect.any(String));
  });

  it('refresh forces a new grant through the refresher', async () => {
    const before = await h.store.readToken(orgId);
    const run = await h.run(['tokens', 'refresh', orgId, '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(['refreshed', 'fresh']).toContain(out.outcome.outcome);
    if (out.outcome.outcome === 'refreshed') {
      const after = await h.store.readToken(orgId);
      expect(after?.accessToken.equals(before?.accessToken)).toBe(false);
    }
  });
});

describe('webhooks', () => {
  it('url shows the form without the secret, and --check validates a URL from stdin', async () => {
    const shown = await h.run(['webhooks', 'url', orgId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`${h.webhookBaseUrl}/${orgId}/<secret>`);
    expect(shown.stdout).not.toContain(webhookUrl);
    expect((await h.run(['webhooks', 'url', orgId, '--check'], { stdin: webhookUrl })).code).toBe(
      0,
    );
    const wrong = await h.run(['webhooks', 'url', orgId, '--check'], {
      stdin: `${h.webhookBaseUrl}/${orgId}/AAAA`,
    });
    expect(wrong.code).toBe(2);
  });

  it('rotate-secret prints a new URL; the old one stays valid for the grace window only', async () => {
    const run = await h.run(['webhooks', 'rotate-secret', orgId, '--grace', '1h', '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.webhookUrl).not.toBe(webhookUrl);
    expect(Date.parse(out.previousUrlValidUntil) - Date.now()).toBeGreaterThan(3_500_000);
    let hashes = (await h.registry.findWebhookAuth(orgId))?.hashes ?? [];
    expect(verifyWebhookSecret(secretOf(out.webhookUrl), hashes)).toBe(true);
    expect(verifyWebhookSecret(secretOf(webhookUrl), hashes)).toBe(true);

    const immediate = JSON.parse(
      (await h.run(['webhooks', 'rotate-secret', orgId, '--grace', '0', '--json'])).stdout,
    );
    hashes = (await h.registry.findWebhookAuth(orgId))?.hashes ?? [];
    expect(verifyWebhookSecret(secretOf(immediate.webhookUrl), hashes)).toBe(true);
    expect(verifyWebhookSecret(secretOf(out.webhookUrl), hashes)).toBe(false);
    webhookUrl = immediate.webhookUrl;
    expect((await h.run(['webhooks', 'rotate-secret', orgId, '--grace', 'forever'])).code).toBe(2);
  });

  it('subscribe registers our URL as the org watcher (org admin) and replaces older ones', async () => {
    const run = await h.run(['webhooks', 'subscribe', orgId, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    const watchers = h.sandbox.store.watchersOf(orgId);
    expect(watchers).toHaveLength(1);
    expect(watchers[0]?.webhook).toBe(out.webhookUrl);
    // the URL subscribed is one the receiver accepts
    const hashes = (await h.registry.findWebhookAuth(orgId))?.hashes ?? [];
    expect(verifyWebhookSecret(secretOf(out.webhookUrl), hashes)).toBe(true);
    const second = JSON.parse((await h.run(['webhooks', 'subscribe', orgId, '--json'])).stdout);
    expect(second.removedWatchers).toEqual([out.watcherId]);
    expect(h.sandbox.store.watchersOf(orgId).map((w) => w.webhook)).toEqual([second.webhookUrl]);
    webhookUrl = second.webhookUrl;
  });
});

describe('orgs remove, and subscribing as a non-admin', () => {
  it('remove asks for --yes without a terminal, then removes the org and its secrets', async () => {
    const refused = await h.run(['orgs', 'remove', orgId]);
    expect(refused.code).toBe(2);
    expect(await h.registry.getOrg(orgId)).toBeDefined();
    const run = await h.run(['orgs', 'remove', orgId, '--yes', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ orgId, removed: true, secrets: 'deleted' });
    expect(await h.registry.getOrg(orgId)).toBeUndefined();
    await expect(h.store.readCredentials(orgId)).rejects.toMatchObject({
      code: 'TOKENS_SECRET_NOT_FOUND',
    });
  });

  it('a standard member can register the org, but subscribe exits 7 with a clear message', async () => {
    const add = await h.run(
      [
        'orgs',
        'add',
        orgId,
        '--client-id',
        h.sandbox.demo.passwordClient.clientId,
        '--username',
        h.sandbox.demo.standard.email,
        '--secrets-from-stdin',
      ],
      { stdin: passwordSecrets(h.sandbox, 'standard') },
    );
    expect(add.code).toBe(0);
    const hashesBefore = (await h.registry.findWebhookAuth(orgId))?.hashes;
    const run = await h.run(['webhooks', 'subscribe', orgId]);
    expect(run.code).toBe(7);
    expect(run.stderr).toMatch(/not an admin of org/);
    // nothing changed: no rotation happened
    expect((await h.registry.findWebhookAuth(orgId))?.hashes).toEqual(hashesBefore);
  });
});

describe('no secret is ever printed', () => {
  it('no captured output holds a credential or a token used in this file', async () => {
    const token = await h.store.readToken(orgId);
    const credentials = await h.store.readCredentials(orgId);
    const secrets = [
      h.sandbox.demo.passwordClient.clientSecret,
      h.sandbox.demo.admin.password,
      h.sandbox.demo.standard.password,
      token?.accessToken.reveal(),
      credentials.authMode === 'password' ? credentials.refreshToken?.reveal() : undefined,
    ].filter((value): value is string => value !== undefined && value.length > 0);
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    const transcript = h.transcript();
    expect(transcript.length).toBeGreaterThan(1000);
    for (const secret of secrets) expect(transcript).not.toContain(secret);
  });
});
