import { inspect } from 'node:util';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import {
  AWSPREVIOUS,
  createTokenStore,
  type OrgCredentials,
  SecretMalformedError,
  TokenStoreError,
} from '../../../shared/tokens/index.ts';
import type { RefreshSecrets } from '../../../shared/tokens/refresh.ts';
import {
  type Harness,
  orgIdFor,
  PREFIX,
  passwordCredentials,
  requestToken,
  startHarness,
  tokenFor,
} from './support.ts';

const NOW = Date.parse('2026-11-22T12:00:00.000Z');
let now = NOW;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ clock: () => now });
});

afterAll(async () => {
  await h.close();
});

async function failure(promise: Promise<unknown>): Promise<TokenStoreError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenStoreError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

function stages(name: string): Promise<Record<string, string[]>> {
  return h.client
    .send(new DescribeSecretCommand({ SecretId: name }))
    .then((out) => out.VersionIdsToStages ?? {});
}

function versionCount(name: string): Promise<number> {
  return h.client
    .send(new DescribeSecretCommand({ SecretId: name }))
    .then((out) => Object.keys(out.VersionIdsToStages ?? {}).length);
}

/** Everything an error shows: message, JSON, inspect, and its cause chain. */
function everythingShown(error: unknown): string {
  return [String(error), JSON.stringify(error), inspect(error, { depth: 5 })].join('\n');
}

describe('token store against the local Secrets Manager', () => {
  test('the store fits the port the refresher expects', () => {
    const port: RefreshSecrets = h.store;
    expect(typeof port.writeCredentials).toBe('function');
  });

  test('createOrgSecrets stores the credentials and an empty token secret under the prefix', async () => {
    const orgId = orgIdFor('create');
    const ids = await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    expect(ids.credentialsSecretName).toBe(`${PREFIX}/orgs/${orgId}/credentials`);
    expect(ids.tokenSecretName).toBe(`${PREFIX}/orgs/${orgId}/token`);
    expect(ids.credentialsSecretArn).toMatch(
      /^arn:aws:secretsmanager:.*:secret:.*\/credentials-\w{6}$/,
    );
    const read = await h.store.readCredentials(orgId);
    expect(read.authMode).toBe('password');
    if (read.authMode !== 'password') throw new Error('unreachable');
    expect(read.clientSecret).toBeInstanceOf(Secret);
    expect(read.clientSecret.reveal()).toBe('client-secret-value-1');
    expect(read.refreshToken?.reveal()).toBe('refresh-token-value-1');
    expect(read.updatedAt).toBe(new Date(now).toISOString());
    expect(await h.store.readToken(orgId)).toBeUndefined();
  });

  test("with the deployment's customer key, every secret the store creates is encrypted with it; without one, with the AWS managed key", async () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const keyed = createTokenStore({ client: h.client, prefix: PREFIX, kmsKeyId: key });
    const kmsKeyOf = (name: string) =>
      h.client.send(new DescribeSecretCommand({ SecretId: name })).then((out) => out.KmsKeyId);

    const orgId = orgIdFor('kms-created');
    const ids = await keyed.createOrgSecrets(orgId, passwordCredentials(orgId));
    expect(await kmsKeyOf(ids.credentialsSecretName)).toBe(key);
    expect(await kmsKeyOf(ids.tokenSecretName)).toBe(key);

    // the refresher's first write for an org without a token secret creates it: with the key too
    const late = orgIdFor('kms-late-token');
    await h.client.send(
      new CreateSecretCommand({
        Name: `${PREFIX}/orgs/${late}/credentials`,
        SecretString: '{}',
      }),
    );
    await keyed.writeToken(late, tokenFor(late, 'access-token-kms', now + 3_600_000), {
      clientRequestToken: requestToken(),
    });
    expect(await kmsKeyOf(`${PREFIX}/orgs/${late}/token`)).toBe(key);

    const plain = orgIdFor('kms-none');
    const plainIds = await h.store.createOrgSecrets(plain, passwordCredentials(plain));
    expect(await kmsKeyOf(plainIds.credentialsSecretName)).toBeUndefined();
  });

  test('createOrgSecrets run twice with the same credentials succeeds and keeps one version', async () => {
    const orgId = orgIdFor('create-twice');
    const first = await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    now += 1000;
    const second = await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    expect(second).toEqual(first);
    expect(await versionCount(first.credentialsSecretName)).toBe(1);
  });

  test('createOrgSecrets with different credentials for a registered org fails with TOKENS_SECRET_ALREADY_EXISTS', async () => {
    const orgId = orgIdFor('create-differs');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const error = await failure(
      h.store.createOrgSecrets(
        orgId,
        passwordCredentials(orgId, { clientSecret: new Secret('another-client-secret') }),
      ),
    );
    expect(error.code).toBe('TOKENS_SECRET_ALREADY_EXISTS');
    expect(everythingShown(error)).not.toContain('another-client-secret');
  });

  test('every auth mode round-trips through its secret', async () => {
    const orgId = orgIdFor('modes');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const variants: OrgCredentials[] = [
      {
        authMode: 'client_credentials',
        orgId,
        updatedAt: '',
        clientId: 'c1',
        clientSecret: new Secret('cs'),
      },
      {
        authMode: 'personal_access_token',
        orgId,
        updatedAt: '',
        token: new Secret('pat'),
        issuedAt: '2026-06-01T00:00:00.000Z',
      },
      {
        authMode: 'app_user_token',
        orgId,
        updatedAt: '',
        appClientId: 'a1',
        appClientSecret: new Secret('acs'),
        email: 'user@example.com',
      },
      {
        authMode: 'password',
        orgId,
        updatedAt: '',
        clientId: 'c2',
        clientSecret: new Secret('cs2'),
        refreshToken: new Secret('rt-only'),
      },
    ];
    for (const variant of variants) {
      now += 1000;
      await h.store.writeCredentials(orgId, variant, { clientRequestToken: requestToken() });
      const read = await h.store.readCredentials(orgId);
      expect(JSON.stringify(read)).toBe(
        JSON.stringify({ ...variant, updatedAt: new Date(now).toISOString() }),
      );
      expect(read).toEqual({ ...variant, updatedAt: new Date(now).toISOString() });
    }
  });

  test('a token round-trips, and a retried write with the same ClientRequestToken adds no version', async () => {
    const orgId = orgIdFor('token');
    const ids = await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const token = { ...tokenFor(orgId, 'access-1', NOW + 3_600_000), grantId: 'g1' };
    const clientRequestToken = requestToken();
    await h.store.writeToken(orgId, token, { clientRequestToken });
    await h.store.writeToken(orgId, token, { clientRequestToken });
    expect(await stages(ids.tokenSecretName)).toEqual({ [clientRequestToken]: ['AWSCURRENT'] });
    expect(await versionCount(ids.tokenSecretName)).toBe(1);
    const read = await h.store.readToken(orgId);
    expect(read?.accessToken.reveal()).toBe('access-1');
    expect(read).toEqual(token);
  });

  test('a retried credentials write a second later (new updatedAt) still lands on the same version', async () => {
    const orgId = orgIdFor('retry-later');
    const ids = await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const next = passwordCredentials(orgId, { refreshToken: new Secret('refresh-token-value-2') });
    const clientRequestToken = requestToken();
    await h.store.writeCredentials(orgId, next, { clientRequestToken });
    now += 1000;
    await h.store.writeCredentials(orgId, next, { clientRequestToken });
    expect((await stages(ids.credentialsSecretName))[clientRequestToken]).toEqual(['AWSCURRENT']);
    expect(await versionCount(ids.credentialsSecretName)).toBe(2);
  });

  test('reusing a ClientRequestToken for a different value fails with TOKENS_VERSION_CONFLICT', async () => {
    const orgId = orgIdFor('conflict');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const clientRequestToken = requestToken();
    await h.store.writeToken(orgId, tokenFor(orgId, 'access-a', NOW + 3_600_000), {
      clientRequestToken,
    });
    const error = await failure(
      h.store.writeToken(orgId, tokenFor(orgId, 'access-b', NOW + 3_600_000), {
        clientRequestToken,
      }),
    );
    expect(error.code).toBe('TOKENS_VERSION_CONFLICT');
    expect(everythingShown(error)).not.toContain('access-b');
  });

  test('after a write, the value before it is readable as AWSPREVIOUS', async () => {
    const orgId = orgIdFor('previous');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    await h.store.writeToken(orgId, tokenFor(orgId, 'access-old', NOW + 3_600_000), {
      clientRequestToken: requestToken(),
    });
    await h.store.writeToken(orgId, tokenFor(orgId, 'access-new', NOW + 7_200_000), {
      clientRequestToken: requestToken(),
    });
    expect((await h.store.readToken(orgId))?.accessToken.reveal()).toBe('access-new');
    const previous = await h.store.readToken(orgId, { versionStage: AWSPREVIOUS });
    expect(previous?.accessToken.reveal()).toBe('access-old');

    await h.store.writeCredentials(
      orgId,
      passwordCredentials(orgId, { refreshToken: new Secret('rt-2') }),
      {
        clientRequestToken: requestToken(),
      },
    );
    const previousCredentials = await h.store.readCredentials(orgId, { versionStage: AWSPREVIOUS });
    if (previousCredentials.authMode !== 'password') throw new Error('unreachable');
    expect(previousCredentials.refreshToken?.reveal()).toBe('refresh-token-value-1');
  });

  test('writeToken creates the token secret when the org has none yet', async () => {
    const orgId = orgIdFor('no-token-secret');
    const clientRequestToken = requestToken();
    await h.store.writeToken(orgId, tokenFor(orgId, 'first', NOW + 3_600_000), {
      clientRequestToken,
    });
    expect(await stages(h.store.secretName(orgId, 'token'))).toEqual({
      [clientRequestToken]: ['AWSCURRENT'],
    });
    expect((await h.store.readToken(orgId))?.accessToken.reveal()).toBe('first');
  });

  test('a secret that is not JSON fails with TOKENS_SECRET_MALFORMED and never shows its text', async () => {
    const orgId = orgIdFor('not-json');
    const name = h.store.secretName(orgId, 'token');
    await h.client.send(new CreateSecretCommand({ Name: name, SecretString: 'tok-HUNTER2-{' }));
    const error = await failure(h.store.readToken(orgId));
    expect(error).toBeInstanceOf(SecretMalformedError);
    expect(error.code).toBe('TOKENS_SECRET_MALFORMED');
    expect(error.message).toContain(name);
    expect(everythingShown(error)).not.toContain('HUNTER2');
  });

  test('a secret with a wrong field fails with TOKENS_SECRET_MALFORMED naming the field, not its value', async () => {
    const orgId = orgIdFor('bad-shape');
    const name = h.store.secretName(orgId, 'credentials');
    await h.client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({
          authMode: 'client_credentials',
          orgId,
          updatedAt: 'HUNTER2-not-a-date',
          clientId: 42,
          clientSecret: 'HUNTER2-client-secret',
        }),
      }),
    );
    const error = await failure(h.store.readCredentials(orgId));
    expect(error.code).toBe('TOKENS_SECRET_MALFORMED');
    expect((error as SecretMalformedError).issues.map((i) => i.path).sort()).toEqual([
      'clientId',
      'updatedAt',
    ]);
    expect(error.message).toMatch(/clientId: invalid_type \(expected string\)/);
    expect(everythingShown(error)).not.toContain('HUNTER2');
  });

  test('a token secret naming another org is refused', async () => {
    const orgId = orgIdFor('copied');
    await h.client.send(
      new CreateSecretCommand({
        Name: h.store.secretName(orgId, 'token'),
        SecretString: JSON.stringify({
          accessToken: 'x',
          tokenType: 'Bearer',
          expiresAt: '2026-11-22T13:00:00.000Z',
          obtainedAt: '2026-11-22T12:00:00.000Z',
          authMode: 'password',
          orgId: 'someone-else',
        }),
      }),
    );
    const error = await failure(h.store.readToken(orgId));
    expect(error.code).toBe('TOKENS_SECRET_MALFORMED');
    expect((error as SecretMalformedError).issues).toEqual([
      { path: 'orgId', code: 'org_mismatch' },
    ]);
  });

  test('an unregistered org fails with TOKENS_SECRET_NOT_FOUND', async () => {
    const orgId = orgIdFor('unknown');
    expect((await failure(h.store.readCredentials(orgId))).code).toBe('TOKENS_SECRET_NOT_FOUND');
    expect((await failure(h.store.readToken(orgId))).code).toBe('TOKENS_SECRET_NOT_FOUND');
  });

  test('a value that does not match the schema is refused before it is written', async () => {
    const orgId = orgIdFor('bad-write');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const bad = { ...tokenFor(orgId, 'HUNTER2-token', NOW), expiresAt: 'tomorrow' };
    const error = await failure(
      h.store.writeToken(orgId, bad, { clientRequestToken: requestToken() }),
    );
    expect(error.code).toBe('TOKENS_VALUE_INVALID');
    expect(everythingShown(error)).not.toContain('HUNTER2');
    expect(await h.store.readToken(orgId)).toBeUndefined();
  });

  test('deleteOrgSecrets schedules both secrets for deletion; reads then fail with TOKENS_SECRET_DELETED', async () => {
    const orgId = orgIdFor('delete');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    await h.store.deleteOrgSecrets(orgId);
    await h.store.deleteOrgSecrets(orgId);
    expect((await failure(h.store.readCredentials(orgId))).code).toBe('TOKENS_SECRET_DELETED');
    await h.store.deleteOrgSecrets(orgId, { forceDeleteWithoutRecovery: true });
    expect((await failure(h.store.readCredentials(orgId))).code).toBe('TOKENS_SECRET_NOT_FOUND');
  });

  test('a ThrottlingException is retried by the SDK standard strategy and the read succeeds', async () => {
    const orgId = orgIdFor('throttled');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    h.sm.resetStats();
    h.sm.injectFault({ kind: 'ThrottlingException', count: 1, operations: ['GetSecretValue'] });
    const read = await h.store.readCredentials(orgId);
    expect(read.orgId).toBe(orgId);
    expect(h.sm.stats().byOperation.GetSecretValue).toBe(2);
  });

  test('throttling beyond the retry budget surfaces as a retryable TOKENS_SECRETS_MANAGER_THROTTLED error', async () => {
    const orgId = orgIdFor('throttled-out');
    const harness = await startHarness({ maxAttempts: 2 });
    try {
      await harness.store.createOrgSecrets(orgId, passwordCredentials(orgId));
      harness.sm.resetStats();
      harness.sm.injectFault({
        kind: 'ThrottlingException',
        count: 5,
        operations: ['GetSecretValue'],
      });
      const error = await failure(harness.store.readToken(orgId));
      expect(error.code).toBe('TOKENS_SECRETS_MANAGER_THROTTLED');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('after 2 attempts');
      expect(harness.sm.stats().byOperation.GetSecretValue).toBe(2);
    } finally {
      await harness.close();
    }
  });

  test('a direct PutSecretValue by another writer is what the next read returns', async () => {
    const orgId = orgIdFor('external');
    await h.store.createOrgSecrets(orgId, passwordCredentials(orgId));
    const external = tokenFor(orgId, 'external-token', NOW + 3_600_000);
    await h.client.send(
      new PutSecretValueCommand({
        SecretId: h.store.secretName(orgId, 'token'),
        SecretString: JSON.stringify({ ...external, accessToken: 'external-token' }),
      }),
    );
    expect((await h.store.readToken(orgId))?.accessToken.reveal()).toBe('external-token');
  });
});
