import { startLocalServer } from '../http.ts';
import { ActionCapLimiter } from './action-caps.ts';
import type { SandboxContext } from './context.ts';
import { SandboxError } from './errors.ts';
import { FaultTable } from './faults.ts';
import { type GeneratedDataset, generateDataset, loadDataset } from './generate.ts';
import { completeTask as completeTaskState } from './lifecycle.ts';
import { RateLimiter } from './rate-limit.ts';
import { renderTask } from './render.ts';
import { addResourceRoutes } from './resources.ts';
import { Router } from './router.ts';
import { DEMO, seedDemo, seedDemoClients } from './seed.ts';
import { createSandboxHandler, type ServerParts } from './server.ts';
import { SandboxStore } from './store.ts';
import { TokenRegistry } from './tokens.ts';
import type { Sandbox, SandboxOptions, SandboxStats } from './types.ts';
import { WebhookDispatcher } from './webhooks.ts';

const PAT_LIFETIME_SECONDS = 15_552_000; // 6 months, as Tallyfy documents

function emptyStats(): SandboxStats {
  return {
    requests: {},
    grants: {},
    refreshTokenReuseRejected: 0,
    webhooksSent: 0,
    webhooksFailed: 0,
    webhooksSuppressed: 0,
    rateLimited: 0,
    faultsInjected: 0,
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new SandboxError('SANDBOX_INVALID', `SandboxOptions.${name} must be a positive number`);
  }
  return value;
}

/** A started sandbox plus the data set it was seeded with (SeedSpec mode). */
export interface StartedSandbox extends Sandbox {
  /** The generated data when `seed` was a SeedSpec; otherwise undefined. */
  readonly dataset: GeneratedDataset | undefined;
}

/**
 * Starts the Tallyfy sandbox: an HTTP server that answers as Tallyfy's API does, strictly.
 *
 * @example
 * const sandbox = await startSandbox();
 * const res = await fetch(sandbox.tokenUrl, {
 *   method: 'POST',
 *   body: new URLSearchParams({ grant_type: 'password', client_id: sandbox.demo.passwordClient.clientId,
 *     client_secret: sandbox.demo.passwordClient.clientSecret, username: sandbox.demo.admin.email,
 *     password: sandbox.demo.admin.password }),
 * });
 * await sandbox.close();
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<StartedSandbox> {
  const clock = options.clock ?? Date.now;
  const stats = emptyStats();
  const store = new SandboxStore();
  const persistence = options.persistence;
  const commit = persistence ? () => persistence.commit() : undefined;
  const webhooks = new WebhookDispatcher({
    enabled: options.webhookDelivery ?? true,
    timeoutMs: positive('webhookTimeoutMs', options.webhookTimeoutMs, 5000),
    stats,
    clock,
    beforeDelivery: commit,
  });
  const ctx: SandboxContext = {
    store,
    tokens: new TokenRegistry(),
    clock,
    lifetimes: {
      accessSeconds: positive(
        'accessTokenLifetimeSeconds',
        options.accessTokenLifetimeSeconds,
        3600,
      ),
      refreshSeconds: positive(
        'refreshTokenLifetimeSeconds',
        options.refreshTokenLifetimeSeconds,
        1_209_600,
      ),
      appUserSeconds: positive(
        'appUserTokenLifetimeSeconds',
        options.appUserTokenLifetimeSeconds,
        7_776_000,
      ),
    },
    refreshTokenReuse: options.refreshTokenReuse ?? 'invalid_grant',
    refreshTokenReuseRevokesFamily: options.refreshTokenReuseRevokesFamily ?? false,
    stats,
    webhooks,
  };

  const seed = options.seed ?? 'demo';
  let dataset: GeneratedDataset | undefined;
  const restored = persistence?.bind({ store, tokens: ctx.tokens, clock }) ?? false;
  if (restored) {
    // the saved state stands for Tallyfy's: no seed over it
  } else if (seed === 'demo') seedDemo(store, clock());
  else if (seed !== 'none') {
    dataset = generateDataset(seed);
    loadDataset(store, dataset);
    seedDemoClients(store);
  }
  await commit?.();

  const faults = new FaultTable();
  const limiter = new RateLimiter(options.rateLimit ?? false);
  const caps = new ActionCapLimiter(options.actionCaps ?? false);
  let latencyMs = Math.max(0, options.latencyMs ?? 0);
  const router = new Router();
  addResourceRoutes(router);

  const requireOrg = (orgId: string) => {
    const org = store.orgs.get(orgId);
    if (!org) throw new SandboxError('SANDBOX_NOT_FOUND', `Unknown org ${orgId}`);
    return org;
  };

  async function completeTask(orgId: string, taskId: string, userId?: string): Promise<void> {
    const org = requireOrg(orgId);
    const task = store.tasks.get(taskId);
    if (!task || task.orgId !== orgId) {
      throw new SandboxError('SANDBOX_NOT_FOUND', `Unknown task ${taskId} in org ${orgId}`);
    }
    const completer = userId ?? task.ownerIds[0] ?? store.runs.get(task.runId)?.startedBy ?? '';
    if (!store.users.get(completer)?.roles.has(orgId)) {
      throw new SandboxError('SANDBOX_NOT_FOUND', `Unknown user ${completer} in org ${orgId}`);
    }
    const result = completeTaskState(store, org, taskId, completer, clock());
    if (!result.ok) {
      throw result.reason === 'already_completed'
        ? new SandboxError('SANDBOX_CONFLICT', `Task ${taskId} is already completed`)
        : new SandboxError('SANDBOX_NOT_FOUND', `Unknown task ${taskId} in org ${orgId}`);
    }
    await webhooks.send(result.events);
  }

  const serverParts: ServerParts = {
    ctx,
    router,
    faults,
    limiter,
    caps,
    latencyMs: () => latencyMs,
    log: options.log,
    commit,
    admin: {
      completeTask,
      taskView: (taskId) => {
        const task = store.tasks.get(taskId);
        return task ? renderTask(task) : null;
      },
      stats: () => structuredClone(stats),
      demo: DEMO,
    },
  };

  const listen = (role: 'api' | 'token', port: number | undefined) =>
    startLocalServer(createSandboxHandler(serverParts, role), {
      port,
      host: options.host,
      // clients pool connections to the sandbox as they would to Tallyfy
      http: { keepAlive: true },
      keepAliveTimeoutMs: 65_000,
      failureAnswer: () => ({ status: 500, body: { message: 'Server Error' } }),
    });
  const server = await listen('api', options.port);
  // the token endpoint on an origin of its own, as Tallyfy's account.tallyfy.com
  const tokenServer = await listen('token', options.tokenPort).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  const { origin } = server;

  return {
    url: `${origin}/api`,
    origin,
    tokenUrl: `${tokenServer.origin}/oauth/token`,
    tokenOrigin: tokenServer.origin,
    demo: DEMO,
    store,
    dataset,
    async close() {
      await Promise.all([server.close(), tokenServer.close()]);
      // changes made through this object (not over HTTP) are stored too
      await commit?.();
      await persistence?.close();
    },
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    setRateLimit(limit) {
      limiter.config = limit;
    },
    setActionCaps(next) {
      caps.config = next;
    },
    setWebhookDelivery(on) {
      webhooks.enabled = on;
    },
    setWebhookUrl(orgId, url, scope) {
      const org = requireOrg(orgId);
      if (scope?.checklistId) {
        const template = store.templates.get(scope.checklistId);
        if (!template || template.orgId !== orgId) {
          throw new SandboxError('SANDBOX_NOT_FOUND', `Unknown template ${scope.checklistId}`);
        }
        template.webhookUrl = url;
      } else {
        org.webhookUrl = url;
      }
      store.touch();
    },
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    addOrg(org) {
      store.putOrg({
        id: org.id,
        name: org.name,
        timezone: org.timezone ?? 'UTC',
        dateFormat: org.dateFormat ?? 'iso',
        webhookUrl: null,
        nextIncrementId: 1,
        createdAt: new Date(clock()).toISOString(),
      });
    },
    addUser(u) {
      requireOrg(u.orgId);
      const fullName = u.fullName ?? u.email.split('@')[0] ?? u.id;
      const [firstName = fullName, ...rest] = fullName.split(' ');
      store.putUser(
        {
          id: u.id,
          email: u.email,
          password: u.password,
          firstName,
          lastName: rest.join(' '),
          fullName,
          roles: new Map([[u.orgId, u.role ?? 'standard']]),
          createdAt: new Date(clock()).toISOString(),
        },
        u.orgId,
      );
    },
    addClient(c) {
      if (c.orgId !== undefined) requireOrg(c.orgId);
      const client = { clientId: c.clientId, clientSecret: c.clientSecret, orgId: c.orgId ?? null };
      store.clients.set(c.clientId, client);
      store.touch({ kind: 'client', record: client });
    },
    issuePersonalAccessToken(userId, opts) {
      if (!store.users.has(userId))
        throw new SandboxError('SANDBOX_NOT_FOUND', `Unknown user ${userId}`);
      const lifetime = positive('lifetimeSeconds', opts?.lifetimeSeconds, PAT_LIFETIME_SECONDS);
      stats.grants.personal_access_token = (stats.grants.personal_access_token ?? 0) + 1;
      return ctx.tokens.issueAccess(
        { kind: 'user', userId, tokenKind: 'personal_access_token' },
        clock() + lifetime * 1000,
      );
    },
    revokeUserTokens(userId) {
      ctx.tokens.revokePersonalAccessTokens(userId);
    },
    revokeAccessToken(token) {
      if (!ctx.tokens.revokeAccess(token)) {
        throw new SandboxError('SANDBOX_NOT_FOUND', 'No such access token');
      }
    },
    completeTask,
    flushWebhooks: () => webhooks.flush(),
    webhookDeliveries: () => [...webhooks.deliveries],
    stats: () => structuredClone(stats),
  };
}
