import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import { refreshDueOrgs, refreshOrg } from '../../../shared/tokens/index.ts';
import {
  liveRefreshToken,
  MINUTE,
  newOrgId,
  passwordCredentials,
  type RefresherEnv,
  registerOrg,
  startRefresherEnv,
  tokenWorks,
} from './support.ts';

let env: RefresherEnv;

beforeAll(async () => {
  env = await startRefresherEnv('crash');
});

afterAll(async () => {
  await env?.close();
});

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/**
 * Runs one refresh of `orgId` in a child process and SIGKILLs it the moment it reports the
 * crash point (the hook hangs there, so nothing after the point can happen).
 */
async function refreshAndKill(
  orgId: string,
  crashAt: 'afterGrant' | 'afterCredentialsWrite',
  force = false,
): Promise<void> {
  const args = {
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: env.tableName,
    secretsEndpoint: env.sm.endpoint,
    prefix: env.prefix,
    tallyfyUrl: env.sandbox.url,
    tokenUrl: env.sandbox.tokenUrl,
    orgId,
    clockMs: env.clock(),
    crashAt,
    force,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes(`CRASH_POINT ${crashAt}`)) child.kill('SIGKILL');
  });
  const { signal } = await exited;
  if (signal !== 'SIGKILL') {
    throw new Error(`the child did not stop at ${crashAt}: ${stdout} ${stderr.slice(0, 2000)}`);
  }
}

/** A password org with a current token, due for its next refresh. */
async function dueOrgWithToken(label: string, login: boolean): Promise<string> {
  const orgId = newOrgId(label);
  const refreshToken = await liveRefreshToken(env);
  await registerOrg(env, orgId, passwordCredentials(env, orgId, { refreshToken, login }));
  expect(await refreshOrg(env.deps(), orgId)).toMatchObject({ outcome: 'refreshed' });
  env.clock.advance(46 * MINUTE);
  return orgId;
}

async function currentToken(orgId: string): Promise<Secret> {
  return (await env.store.readToken(orgId))?.accessToken ?? new Secret('none');
}

/** The lease the dead run held expires; the next scheduled run then sees the org. */
const afterLeaseExpiry = () => env.clock.advance(61_000);

describe('the process dies after Tallyfy answered, before any secret write', () => {
  test('the next run recovers with the password grant', async () => {
    const orgId = await dueOrgWithToken('crashgrant', true);
    const before = env.sandbox.stats();
    const storedRefresh = await env.store.readCredentials(orgId);

    await refreshAndKill(orgId, 'afterGrant');

    // Tallyfy rotated: the stored refresh token and the stored access token are both dead now
    expect(env.sandbox.stats().grants.refresh_token).toBe((before.grants.refresh_token ?? 0) + 1);
    expect(await env.store.readCredentials(orgId)).toEqual(storedRefresh);
    expect(await tokenWorks(env, await currentToken(orgId))).toBe(false);
    expect((await env.registry.getOrg(orgId))?.lease?.owner).toMatch(/^child-/);

    afterLeaseExpiry();
    const summary = await refreshDueOrgs(env.deps(), { startJitterMs: 0 });

    expect(summary.results).toContainEqual(
      expect.objectContaining({ orgId, outcome: 'refreshed', grant: 'password' }),
    );
    expect(await tokenWorks(env, await currentToken(orgId))).toBe(true);
    expect(await env.registry.getOrg(orgId)).toMatchObject({
      status: 'active',
      consecutiveFailures: 0,
    });
  });

  test('without a stored password the next run marks the org needs_reauth, visibly', async () => {
    const orgId = await dueOrgWithToken('crashnologin', false);

    await refreshAndKill(orgId, 'afterGrant');
    afterLeaseExpiry();
    const summary = await refreshDueOrgs(env.deps(), { startJitterMs: 0 });

    expect(summary.results).toContainEqual(
      expect.objectContaining({
        orgId,
        outcome: 'failed',
        code: 'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED',
        needsReauth: true,
      }),
    );
    expect(summary.needsReauth).toBeGreaterThanOrEqual(1);
    const org = await env.registry.getOrg(orgId);
    expect(org).toMatchObject({
      status: 'needs_reauth',
      lastError: { code: 'TALLYFY_OAUTH_REFRESH_TOKEN_REJECTED' },
    });
  });

  test('a forced refresh that dies leaves the org due, so the next scheduled run recovers it', async () => {
    const orgId = await dueOrgWithToken('crashforced', true);
    // refresh now so the token is NOT due; a worker's 401 then forces one two minutes later
    expect(await refreshOrg(env.deps(), orgId)).toMatchObject({ outcome: 'refreshed' });
    env.clock.advance(2 * MINUTE);
    expect((await env.registry.queryDue(new Date(env.clock()).toISOString())).orgIds).not.toContain(
      orgId,
    );

    await refreshAndKill(orgId, 'afterGrant', true);
    afterLeaseExpiry();
    const summary = await refreshDueOrgs(env.deps(), { startJitterMs: 0 });

    expect(summary.results).toContainEqual(
      expect.objectContaining({ orgId, outcome: 'refreshed', grant: 'password' }),
    );
    expect(await tokenWorks(env, await currentToken(orgId))).toBe(true);
  });
});

describe('the process dies after the credentials write, before the token write', () => {
  test('the next run completes from lastGrant without spending a grant', async () => {
    const orgId = await dueOrgWithToken('crashcreds', true);

    await refreshAndKill(orgId, 'afterCredentialsWrite');

    const credentials = await env.store.readCredentials(orgId);
    const lastGrant = credentials.lastGrant;
    expect(lastGrant).toBeDefined();
    expect((await env.store.readToken(orgId))?.grantId).not.toBe(lastGrant?.grantId);
    expect(await tokenWorks(env, await currentToken(orgId))).toBe(false);
    const grantsBefore = env.sandbox.stats().grants;

    afterLeaseExpiry();
    // the scheduled run finds it due (the dead run never wrote the org item) and refreshes it;
    // the org alone, so that other orgs of this file coming due do not move the grant counters
    expect((await env.registry.queryDue(new Date(env.clock()).toISOString())).orgIds).toContain(
      orgId,
    );
    expect(await refreshOrg(env.deps(), orgId)).toEqual({
      orgId,
      outcome: 'recovered',
      expiresAt: lastGrant?.expiresAt,
    });
    expect(env.sandbox.stats().grants).toEqual(grantsBefore);
    const token = await env.store.readToken(orgId);
    expect(token?.grantId).toBe(lastGrant?.grantId);
    expect(await tokenWorks(env, await currentToken(orgId))).toBe(true);
    expect(await env.registry.getOrg(orgId)).toMatchObject({
      status: 'active',
      tokenExpiresAt: lastGrant?.expiresAt,
    });
    // and the refresh token stored with it is the live one: the following rotation works
    env.clock.advance(46 * MINUTE);
    expect(await refreshOrg(env.deps(), orgId)).toMatchObject({
      outcome: 'refreshed',
      grant: 'refresh_token',
    });
  });
});
