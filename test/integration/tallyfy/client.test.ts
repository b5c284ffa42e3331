import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type StartedSandbox, startSandbox } from '../../../local/tallyfy-sandbox/index.ts';
import { Secret } from '../../../shared/secret.ts';
import {
  ACTION_CAP_RETRY_AFTER_MS,
  closeSharedDispatchers,
  createTallyfyClient,
  isAppManagementPath,
  mintAppUserToken,
  passwordGrant,
  type RetryEvent,
  staticToken,
  TallyfyApi,
  TallyfyAuthError,
  type TallyfyClientOptions,
  TallyfyForbiddenError,
  TallyfyNetworkError,
  TallyfyNotFoundError,
  TallyfyRateLimitError,
  TallyfyScopeError,
  TallyfyServerError,
  TallyfyValidationError,
} from '../../../shared/tallyfy/index.ts';

describe('Tallyfy client against the sandbox', () => {
  let sandbox: StartedSandbox;
  let token: Secret;
  let orgId: string;
  const sleeps: number[] = [];
  const retries: RetryEvent[] = [];

  function api(options: Partial<TallyfyClientOptions> = {}) {
    return new TallyfyApi(
      createTallyfyClient({
        auth: staticToken(token),
        baseUrl: sandbox.url,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        onRetry: (e) => retries.push(e),
        ...options,
      }),
    );
  }

  beforeAll(async () => {
    sandbox = await startSandbox();
    orgId = sandbox.demo.orgId;
    const tokens = await passwordGrant(
      {
        clientId: sandbox.demo.passwordClient.clientId,
        clientSecret: new Secret(sandbox.demo.passwordClient.clientSecret),
        username: sandbox.demo.admin.email,
        password: new Secret(sandbox.demo.admin.password),
      },
      { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    );
    token = tokens.accessToken;
  });
  beforeEach(() => {
    sandbox.clearFaults();
    sleeps.length = 0;
    retries.length = 0;
  });
  afterAll(async () => {
    await sandbox.close();
    await closeSharedDispatchers();
  });

  test('the sandbox accepts our headers: me, organisations, templates, runs and tasks read typed', async () => {
    const tallyfy = api();
    const me = await tallyfy.me();
    expect(me.id).toBe(sandbox.demo.admin.id);
    expect((await tallyfy.myOrganizations().all()).map((o) => o.id)).toContain(orgId);
    const checklist = await tallyfy.getChecklist(orgId, sandbox.demo.templates.purchaseOrder.id);
    expect(checklist.steps?.map((s) => s.alias)).toEqual([
      'request-details',
      'approve-po',
      'issue-po',
    ]);
    expect((await tallyfy.listChecklists(orgId).all()).length).toBeGreaterThanOrEqual(2);
    const run = await tallyfy.getRun(orgId, sandbox.demo.runs.purchaseOrderOpen);
    expect(run.checklist_id).toBe(sandbox.demo.templates.purchaseOrder.id);
    const runTasks = await tallyfy.listRunTasks(orgId, run.id).all();
    expect(runTasks.map((t) => t.id)).toContain(sandbox.demo.tasks.approvePo);
    const task = await tallyfy.getTask(orgId, sandbox.demo.tasks.approvePo);
    expect(task.run_id).toBe(run.id);
    expect((await tallyfy.getTask(orgId, task.id, run.id)).id).toBe(task.id);
    // unknown fields pass through the lenient schemas
    expect(task).toHaveProperty('owners');
  });

  test('users, groups, guests and tags list', async () => {
    const tallyfy = api();
    expect((await tallyfy.listUsers(orgId).all()).map((u) => u.id)).toContain(
      sandbox.demo.admin.id,
    );
    expect((await tallyfy.listGroups(orgId).all()).map((g) => g.id)).toContain(
      sandbox.demo.groups.finance,
    );
    expect((await tallyfy.listGuests(orgId).all()).map((g) => g.email)).toContain(
      sandbox.demo.guestEmail,
    );
    expect((await tallyfy.listTags(orgId).all()).map((t) => t.id)).toContain(
      sandbox.demo.tags.urgent,
    );
  });

  test('a list is read across pages, and the page iterator exposes page metadata', async () => {
    const tallyfy = new TallyfyApi(
      createTallyfyClient({ auth: staticToken(token), baseUrl: sandbox.url }),
      {
        perPage: 1,
      },
    );
    const pages = [];
    for await (const page of tallyfy.listTasks(orgId).pages()) pages.push(page);
    const total = sandbox.store.tasksOf(orgId).length;
    expect(total).toBeGreaterThan(2);
    expect(pages).toHaveLength(total);
    expect(pages.map((p) => p.page)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(pages[0]?.totalPages).toBe(total);
    const ids = new Set(pages.flatMap((p) => p.data.map((t) => t.id)));
    expect(ids.size).toBe(total);
    expect(tallyfy.client.stats.requests).toBe(total);
  });

  test('launch, complete and comment change the sandbox state', async () => {
    const tallyfy = api();
    const run = await tallyfy.launchRun(orgId, {
      checklistId: sandbox.demo.templates.onboarding.id,
      name: 'Onboarding: client test',
    });
    expect(run.name).toBe('Onboarding: client test');
    const [first] = await tallyfy.listRunTasks(orgId, run.id).all();
    if (first === undefined) throw new Error('launched run has no task');
    const done = await tallyfy.completeTask(orgId, run.id, first.id);
    expect(done.status).toBe('completed');
    expect(sandbox.store.tasks.get(first.id)?.status).toBe('completed');
    const comment = await tallyfy.commentOnTask(orgId, first.id, 'Looks good');
    expect(sandbox.store.commentsOf(first.id).map((c) => c.id)).toContain(comment.id);
    // a task's comments are read back through `with=threads`, by the run's path or the org's
    const byRun = await tallyfy.listTaskComments(orgId, first.id, run.id);
    expect(byRun.map((c) => [c.id, c.content])).toEqual([[comment.id, 'Looks good']]);
    expect(await tallyfy.listTaskComments(orgId, first.id)).toEqual(byRun);
    // `q` searches run names: one narrow page instead of every run of the template
    const found = await tallyfy.listRuns(orgId, { q: 'client TEST' }).all();
    expect(found.map((r) => r.id)).toEqual([run.id]);
  });

  test('a fault "after" lets the request take effect and answers 500; a GET 500 is retried', async () => {
    const tallyfy = api();
    const taskId = sandbox.demo.tasks.issuePo;
    sandbox.injectFault({
      method: 'POST',
      path: /\/comment$/,
      status: 500,
      timing: 'after',
      times: 1,
    });
    const err = await tallyfy.commentOnTask(orgId, taskId, 'took effect').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TallyfyServerError);
    expect(sandbox.store.commentsOf(taskId).map((c) => c.content)).toContain('took effect');
    sandbox.injectFault({ method: 'GET', status: 500, times: 2 });
    const comments = await tallyfy.listTaskComments(orgId, taskId);
    expect(comments.map((c) => c.content)).toContain('took effect');
    expect(retries.map((r) => [r.method, r.status])).toEqual([
      ['GET', 500],
      ['GET', 500],
    ]);
  });

  test('an org watcher webhook is added, listed (URL kept secret) and removed', async () => {
    const tallyfy = api();
    const url = new Secret('https://example.test/hooks/org/very-secret-part');
    const watcher = await tallyfy.addWebhookWatcher(orgId, sandbox.demo.admin.id, url);
    const listed = await tallyfy.listWebhookWatchers(orgId).all();
    const found = listed.find((w) => w.id === watcher.id);
    expect(found?.webhook?.reveal()).toBe(url.reveal());
    expect(JSON.stringify(found)).not.toContain('very-secret-part');
    await tallyfy.removeWatcher(orgId, watcher.id);
    expect((await tallyfy.listWebhookWatchers(orgId).all()).map((w) => w.id)).not.toContain(
      watcher.id,
    );
  });

  test('sandbox errors map to typed errors: 401 with hint, 403, 404, 422', async () => {
    const bad = new TallyfyApi(
      createTallyfyClient({
        auth: staticToken(new Secret('not-a-real-token')),
        baseUrl: sandbox.url,
      }),
    );
    const e401 = await bad.me().catch((e: unknown) => e);
    expect(e401).toBeInstanceOf(TallyfyAuthError);
    expect((e401 as TallyfyAuthError).requestId).toBeTruthy();
    const tallyfy = api();
    await expect(tallyfy.listRuns('not-my-org').all()).rejects.toBeInstanceOf(
      TallyfyForbiddenError,
    );
    await expect(tallyfy.getRun(orgId, 'no-such-run')).rejects.toBeInstanceOf(TallyfyNotFoundError);
    const e422 = (await tallyfy
      .launchRun(orgId, { checklistId: 'no-such-template', name: 'x' })
      .catch((e: unknown) => e)) as TallyfyValidationError;
    expect(e422).toBeInstanceOf(TallyfyValidationError);
    expect(Object.keys(e422.fieldErrors).length).toBeGreaterThan(0);
  });

  test('a client-credentials token on a user-scoped endpoint is a scope error when the port knows it, never a refresh', async () => {
    const { clientCredentialsGrant } = await import('../../../shared/tallyfy/index.ts');
    const app = await clientCredentialsGrant(
      {
        clientId: sandbox.demo.appClient.clientId,
        clientSecret: new Secret(sandbox.demo.appClient.clientSecret),
      },
      { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    );
    const tallyfy = new TallyfyApi(
      createTallyfyClient({ auth: staticToken(app.accessToken), baseUrl: sandbox.url }),
    );
    // a port that does not know the token's kind: an ordinary 401
    await expect(tallyfy.listRuns(orgId).all()).rejects.toBeInstanceOf(TallyfyAuthError);

    // a port that knows it is an app token: a scope error, and no refresh is asked for
    let refreshAsked = 0;
    const known = staticToken(app.accessToken, { scope: 'app' });
    const scoped = new TallyfyApi(
      createTallyfyClient({
        auth: {
          ...known,
          onUnauthorized: async () => {
            refreshAsked++;
            return true;
          },
        },
        baseUrl: sandbox.url,
      }),
    );
    for (const call of [() => scoped.listRuns(orgId).all(), () => scoped.me()]) {
      const err = (await call().catch((e: unknown) => e)) as TallyfyScopeError;
      expect(err).toBeInstanceOf(TallyfyScopeError);
      expect(err).toMatchObject({
        code: 'TALLYFY_TOKEN_SCOPE_UNSUPPORTED',
        kind: 'permanent',
        retryable: false,
        status: 401,
        attempts: 1,
      });
      expect(err.message).toContain('app_user_token');
      expect(err.message).not.toContain(app.accessToken.reveal());
    }
    expect(refreshAsked).toBe(0);
    expect(scoped.client.stats.retries).toBe(0);
    // the endpoints an app token serves are not judged by scope: minting a user token works
    const minted = await mintAppUserToken(
      { appToken: app.accessToken, orgId, email: sandbox.demo.standard.email },
      { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    );
    expect(minted.tokenType).toBe('Bearer');
    expect(isAppManagementPath(`/applications/${orgId}/users/x/token`)).toBe(true);
    expect(isAppManagementPath(`/organizations/${orgId}/runs`)).toBe(false);
  });

  test('429 with a Retry-After within the cap is waited out and counted', async () => {
    sandbox.injectFault({ path: '/me', status: 429, retryAfterSeconds: 2, times: 2 });
    const tallyfy = api({ retry: { retryAfterCapMs: 30_000, deadlineMs: 60_000 } });
    await tallyfy.me();
    expect(sleeps).toEqual([2000, 2000]);
    expect(tallyfy.client.stats.retriesByReason.rate_limited).toBe(2);
    sandbox.injectFault({ path: '/me', status: 429, retryAfterSeconds: 1 });
    const err = (await tallyfy.me().catch((e: unknown) => e)) as TallyfyRateLimitError;
    expect(err).toBeInstanceOf(TallyfyRateLimitError);
    expect(err.retryAfterMs).toBe(1000);
    expect(err.attempts).toBe(5);
  });

  test('a 90 s Retry-After (beyond the 30 s cap) is not retried early: the error carries the full wait', async () => {
    // the sandbox's rate limit with a 90 s window: the second call in it gets Retry-After: 90
    sandbox.setRateLimit({ limit: 1, windowMs: 90_000 });
    try {
      const tallyfy = api({ retry: { retryAfterCapMs: 30_000, deadlineMs: 60_000 } });
      await tallyfy.me();
      const limitedBefore = sandbox.stats().rateLimited;
      const err = (await tallyfy.me().catch((e: unknown) => e)) as TallyfyRateLimitError;
      expect(err).toBeInstanceOf(TallyfyRateLimitError);
      expect(err).toMatchObject({
        code: 'TALLYFY_RATE_LIMITED',
        retryable: true,
        retryAfterMs: 90_000,
        attempts: 1,
        actionCap: false,
      });
      // one 429, no early retry that would earn another one
      expect(sandbox.stats().rateLimited - limitedBefore).toBe(1);
      expect(sleeps).toEqual([]);
      expect(tallyfy.client.stats.retries).toBe(0);
    } finally {
      sandbox.setRateLimit(false);
    }
  });

  test("an hourly action cap (RATE_LIMIT_EXCEEDED) is a rate limit with Tallyfy's wait, or an assumed one", async () => {
    const task = sandbox.demo.tasks.approvePo;
    const tallyfy = api({ retry: { retryAfterCapMs: 30_000 } });
    sandbox.setActionCaps({ commentsPerHour: 1 });
    try {
      await tallyfy.commentOnTask(orgId, task, 'first of the hour');
      const err = (await tallyfy
        .commentOnTask(orgId, task, 'over the cap')
        .catch((e: unknown) => e)) as TallyfyRateLimitError;
      expect(err).toBeInstanceOf(TallyfyRateLimitError);
      expect(err).toMatchObject({ actionCap: true, retryable: true, attempts: 1 });
      expect(err.retryAfterMs).toBeGreaterThan(30_000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(3_600_000);
      expect(err.message).toContain('RATE_LIMIT_EXCEEDED');
      // without Retry-After the client assumes the documented cap's wait, never a quick retry
      sandbox.setActionCaps({ commentsPerHour: 1, omitRetryAfter: true });
      const bare = (await tallyfy
        .commentOnTask(orgId, task, 'still over')
        .catch((e: unknown) => e)) as TallyfyRateLimitError;
      expect(bare).toMatchObject({
        actionCap: true,
        retryAfterMs: ACTION_CAP_RETRY_AFTER_MS,
        attempts: 1,
      });
      expect(sleeps).toEqual([]);
    } finally {
      sandbox.setActionCaps(false);
    }
  });

  test.each([502, 503, 504])(
    'GET is retried on %i; POST launch is not retried on it',
    async (status) => {
      const runs = `/organizations/${orgId}/runs`;
      sandbox.injectFault({ method: 'GET', path: runs, status, times: 2 });
      const tallyfy = api({ retry: { minDelayMs: 1, maxDelayMs: 4 } });
      expect((await tallyfy.listRuns(orgId).all()).length).toBeGreaterThan(0);
      expect(retries.filter((r) => r.reason === 'server_error')).toHaveLength(2);
      sandbox.injectFault({ method: 'POST', path: runs, status, times: 1 });
      const before = sandbox.store.runsOf(orgId).length;
      const err = await tallyfy
        .launchRun(orgId, {
          checklistId: sandbox.demo.templates.onboarding.id,
          name: 'never twice',
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TallyfyServerError);
      expect(sandbox.store.runsOf(orgId).length).toBe(before);
      expect(tallyfy.client.stats.attempts).toBe(4);
    },
  );

  test('a reset connection is retried for GET and not for POST', async () => {
    const runs = `/organizations/${orgId}/runs`;
    sandbox.injectFault({ method: 'GET', path: runs, kind: 'reset', times: 1 });
    const tallyfy = api({ retry: { minDelayMs: 1, maxDelayMs: 4 } });
    await tallyfy.listRuns(orgId).all();
    expect(retries.map((r) => r.reason)).toEqual(['network_error']);
    sandbox.injectFault({ method: 'POST', path: runs, kind: 'reset', times: 1 });
    const err = (await tallyfy
      .launchRun(orgId, { checklistId: sandbox.demo.templates.onboarding.id, name: 'reset' })
      .catch((e: unknown) => e)) as TallyfyNetworkError;
    expect(err).toBeInstanceOf(TallyfyNetworkError);
    expect(err.failure).toBe('reset');
    expect(err.attempts).toBe(1);
  });

  test('a hanging answer ends in a timeout per attempt', async () => {
    sandbox.injectFault({ path: '/me', kind: 'hang', times: 2 });
    const tallyfy = api({ headersTimeoutMs: 100, retry: { maxRetries: 1, minDelayMs: 1 } });
    const err = (await tallyfy.me().catch((e: unknown) => e)) as TallyfyNetworkError;
    expect(err).toBeInstanceOf(TallyfyNetworkError);
    expect(err.failure).toBe('timeout');
    expect(err.attempts).toBe(2);
  });

  test('latency beyond the headers timeout is a timeout; within it, an answer', async () => {
    // undici checks headers timeouts on a ~0.5-1 s tick, so the latency here is well past it
    sandbox.setLatency(2000);
    try {
      const slow = api({ headersTimeoutMs: 100, retry: { maxRetries: 0 } });
      await expect(slow.me()).rejects.toBeInstanceOf(TallyfyNetworkError);
      sandbox.setLatency(20);
      expect((await api({ headersTimeoutMs: 2000 }).me()).id).toBe(sandbox.demo.admin.id);
    } finally {
      sandbox.setLatency(0);
    }
  });

  test('a 401 after a rotation: onUnauthorized supplies the new token and the call succeeds once', async () => {
    const { refreshTokenGrant } = await import('../../../shared/tallyfy/index.ts');
    const client = {
      clientId: sandbox.demo.passwordClient.clientId,
      clientSecret: new Secret(sandbox.demo.passwordClient.clientSecret),
    };
    const first = await passwordGrant(
      {
        ...client,
        username: sandbox.demo.standard.email,
        password: new Secret(sandbox.demo.standard.password),
      },
      { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    );
    // the refresher rotates the token elsewhere: Tallyfy revokes the access token a worker caches
    const second = await refreshTokenGrant(
      { ...client, refreshToken: first.refreshToken as Secret },
      { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
    );
    let cached = first.accessToken;
    const rejected: Secret[] = [];
    const tallyfy = api({
      auth: {
        getToken: async () => cached,
        onUnauthorized: async (old) => {
          rejected.push(old);
          cached = second.accessToken; // re-read the token store
          return true;
        },
      },
    });
    expect((await tallyfy.me()).id).toBe(sandbox.demo.standard.id);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.equals(first.accessToken)).toBe(true);
    expect(retries.map((r) => r.reason)).toEqual(['unauthorized']);
    expect(tallyfy.client.stats.attempts).toBe(2);
  });
});
