/**
 * The refresher's test bench: DynamoDB Local (a fresh orgs table), the local Secrets Manager
 * through the real SDK client, the Tallyfy sandbox over loopback, one hand-moved clock for all
 * of them, and a Powertools logger writing into memory.
 */
import { randomUUID } from 'node:crypto';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../../local/secrets-manager/index.ts';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import type { SandboxOptions } from '../../../local/tallyfy-sandbox/types.ts';
import { createLogger, type MemorySink, memorySink } from '../../../shared/observability/index.ts';
import type { CreateOrgInput, OrgRegistry } from '../../../shared/orgs/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { passwordGrant, tallyfyOAuth } from '../../../shared/tallyfy/index.ts';
import {
  type CredentialsInput,
  createTallyfyGrants,
  createTokenStore,
  DEFAULT_REFRESH_POLICY,
  type RefreshDeps,
  type RefreshPolicy,
  type TokenStore,
} from '../../../shared/tokens/index.ts';
import { freshRegistry, orgInput, type TestClock, testClock } from '../orgs/support.ts';
import { localClient } from '../tokens/support.ts';

export const START = '2026-11-22T12:00:00.000Z';

export interface RefresherEnv {
  clock: TestClock;
  registry: OrgRegistry;
  tableName: string;
  prefix: string;
  sm: LocalSecretsManager;
  store: TokenStore;
  sandbox: StartedSandbox;
  sink: MemorySink;
  policy: RefreshPolicy;
  /** Refresher deps for one runner (a fresh lease owner each call unless given). */
  deps(overrides?: Partial<Omit<RefreshDeps, 'registry'>>): RefreshDeps & { registry: OrgRegistry };
  close(): Promise<void>;
}

/** Starts everything on loopback; one env per test file. */
export async function startRefresherEnv(
  label: string,
  options: { sandbox?: SandboxOptions; policy?: Partial<RefreshPolicy> } = {},
): Promise<RefresherEnv> {
  const clock = testClock(START);
  const { registry, tableName, clients } = await freshRegistry(`refresher-${label}`, { clock });
  const sm = await startLocalSecretsManager({ clock });
  const smClient = localClient(sm.endpoint);
  const prefix = `tallyfy-serverless/${label}`;
  const store = createTokenStore({ client: smClient, prefix, clock });
  const sandbox = await startSandbox({ clock, ...options.sandbox });
  const sink = memorySink();
  const logger = createLogger({ serviceName: 'token-refresher', level: 'DEBUG', sink: sink.sink });
  const grants = createTallyfyGrants(
    tallyfyOAuth({ baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl, clock }),
  );
  // deterministic jitter: a fixed sequence instead of Math.random
  let seed = 7;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const policy = { ...DEFAULT_REFRESH_POLICY, ...options.policy };
  return {
    clock,
    registry,
    tableName,
    prefix,
    sm,
    store,
    sandbox,
    sink,
    policy,
    deps: (overrides = {}) => ({
      registry,
      secrets: store,
      grants,
      policy,
      clock,
      random,
      logger,
      owner: `runner-${randomUUID().slice(0, 8)}`,
      sleep: async () => undefined,
      ...overrides,
    }),
    async close() {
      await sandbox.close();
      smClient.destroy();
      await sm.close();
      clients.document.destroy();
      clients.client.destroy();
    },
  };
}

/** Registers an org as the CLI would: both secrets, then the org item (active, due now). */
export async function registerOrg(
  env: RefresherEnv,
  orgId: string,
  credentials: CredentialsInput,
  org: Partial<CreateOrgInput> = {},
): Promise<void> {
  const ids = await env.store.createOrgSecrets(orgId, credentials);
  await env.registry.createOrg(
    orgInput(orgId, {
      authMode: credentials.authMode,
      credentialsSecretId: ids.credentialsSecretArn,
      tokenSecretId: ids.tokenSecretArn,
      ...org,
    }),
  );
}

/** A live refresh token of the sandbox's demo admin (one password grant). */
export async function liveRefreshToken(env: RefresherEnv): Promise<Secret> {
  const { demo } = env.sandbox;
  const set = await passwordGrant(
    {
      clientId: demo.passwordClient.clientId,
      clientSecret: new Secret(demo.passwordClient.clientSecret),
      username: demo.admin.email,
      password: new Secret(demo.admin.password),
    },
    { baseUrl: env.sandbox.url, tokenUrl: env.sandbox.tokenUrl, clock: env.clock },
  );
  if (!set.refreshToken)
    throw new Error('the sandbox answered a password grant without a refresh token');
  return set.refreshToken;
}

/** Uses `token` once at the sandbox's token endpoint, so it is rotated away (dead) after. */
export async function spendRefreshToken(env: RefresherEnv, token: Secret): Promise<void> {
  const { demo } = env.sandbox;
  const res = await fetch(env.sandbox.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: demo.passwordClient.clientId,
      client_secret: demo.passwordClient.clientSecret,
      refresh_token: token.reveal(),
    }).toString(),
  });
  await res.arrayBuffer();
  if (res.status !== 200)
    throw new Error(`the sandbox did not rotate the refresh token (${res.status})`);
}

/** `password` credentials of the demo admin; `login: false` stores the refresh token alone. */
export function passwordCredentials(
  env: RefresherEnv,
  orgId: string,
  options: { refreshToken?: Secret; login?: boolean } = {},
): CredentialsInput {
  const { demo } = env.sandbox;
  return {
    authMode: 'password',
    orgId,
    clientId: demo.passwordClient.clientId,
    clientSecret: new Secret(demo.passwordClient.clientSecret),
    ...(options.login === false
      ? {}
      : { username: demo.admin.email, password: new Secret(demo.admin.password) }),
    ...(options.refreshToken ? { refreshToken: options.refreshToken } : {}),
  };
}

/** Whether the sandbox accepts `token` now: `GET /me` for user tokens, org users for app tokens. */
export async function tokenWorks(
  env: RefresherEnv,
  token: Secret,
  kind: 'user' | 'app' = 'user',
): Promise<boolean> {
  const path = kind === 'user' ? '/me' : `/organizations/${env.sandbox.demo.orgId}/users`;
  const res = await fetch(`${env.sandbox.url}${path}`, {
    headers: {
      authorization: `Bearer ${token.reveal()}`,
      'x-tallyfy-client': 'APIClient',
      accept: 'application/json',
    },
  });
  await res.arrayBuffer();
  return res.status === 200;
}

/** A unique org id (A-Z a-z 0-9 _ -). */
export function newOrgId(label: string): string {
  return `org_${label}_${randomUUID().slice(0, 8)}`;
}

export const MINUTE = 60_000;
