import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type LocalSecretsManager,
  type LocalSecretsManagerOptions,
  startLocalSecretsManager,
} from '../../../local/secrets-manager/index.ts';
import { Secret } from '../../../shared/secret.ts';
import {
  type CredentialsInput,
  createTokenStore,
  type OrgToken,
  type TokenStore,
} from '../../../shared/tokens/index.ts';

export const PREFIX = 'tallyfy-serverless/test';

export interface Harness {
  sm: LocalSecretsManager;
  client: SecretsManagerClient;
  store: TokenStore;
  close(): Promise<void>;
}

/** A local Secrets Manager on port 0, the real SDK client pointed at it, and a token store. */
export async function startHarness(
  options: LocalSecretsManagerOptions & { maxAttempts?: number; clock?: () => number } = {},
): Promise<Harness> {
  const sm = await startLocalSecretsManager(options);
  const client = localClient(sm.endpoint, options.maxAttempts);
  const store = createTokenStore({
    client,
    prefix: PREFIX,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    sm,
    client,
    store,
    async close() {
      client.destroy();
      await sm.close();
    },
  };
}

export function localClient(endpoint: string, maxAttempts?: number): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(maxAttempts ? { maxAttempts } : {}),
  });
}

export function orgIdFor(label: string): string {
  return `org-${label}-${randomUUID().slice(0, 8)}`;
}

export function passwordCredentials(orgId: string, overrides: Partial<CredentialsInput> = {}) {
  return {
    authMode: 'password',
    orgId,
    clientId: '3001',
    clientSecret: new Secret('client-secret-value-1'),
    username: 'ops@example.com',
    password: new Secret('password-value-1'),
    refreshToken: new Secret('refresh-token-value-1'),
    ...overrides,
  } as CredentialsInput;
}

export function tokenFor(
  orgId: string,
  accessToken: string,
  expiresAtMs: number,
  obtainedAtMs = expiresAtMs - 3_600_000,
): OrgToken {
  return {
    accessToken: new Secret(accessToken),
    tokenType: 'Bearer',
    expiresAt: new Date(expiresAtMs).toISOString(),
    obtainedAt: new Date(obtainedAtMs).toISOString(),
    authMode: 'password',
    orgId,
  };
}

/** A ClientRequestToken of the length Secrets Manager requires (32–64 characters). */
export function requestToken(): string {
  return randomUUID();
}
