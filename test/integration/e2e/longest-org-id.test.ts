/**
 * Issue 10 ("one definition per rule"): the longest org id the registry accepts works in every
 * place an org id goes, end to end, through the real parts: registered by the CLI's `orgs add`
 * use case, its token stored under the longest SECRET_PREFIX and refreshed by the token
 * refresher's handler, its webhook accepted by the receiver (202, archived on disk), processed by
 * the worker (a comment made in Tallyfy with the org's token), and its report written under
 * `reports/<orgId>/`. DynamoDB Local, the local Secrets Manager and the Tallyfy sandbox, all on
 * loopback. (The receiver used to stop at 64 characters: such an org got 401 on every webhook.)
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { addOrg } from '../../../bin/orgs/add-org.ts';
import { createEventWorkerHandler } from '../../../functions/event-worker/handler.ts';
import { createReporterHandler } from '../../../functions/reporter/handler.ts';
import { createTokenRefresherHandler } from '../../../functions/token-refresher/handler.ts';
import { createWebhookReceiverHandler } from '../../../functions/webhook-receiver/handler.ts';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../../local/secrets-manager/index.ts';
import {
  type GeneratedDataset,
  type StartedSandbox,
  startSandbox,
} from '../../../local/tallyfy-sandbox/index.ts';
import { createFileArchive, memoryEventBus } from '../../../shared/events/index.ts';
import { createLogger, memorySink } from '../../../shared/observability/index.ts';
import { createOrgsTable, ORG_ID_MAX_LENGTH, OrgIdSchema } from '../../../shared/orgs/index.ts';
import { parseReconcileEvent } from '../../../shared/reconcile/index.ts';
import {
  fileReportSink,
  registryOrgLister,
  tallyfyClientLists,
  tallyfyReportSource,
} from '../../../shared/reports/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { MAX_SECRET_PREFIX_LENGTH, SECRET_NAME_MAX_LENGTH } from '../../../shared/secret-names.ts';
import {
  closeSharedDispatchers,
  parseTallyfyDateMs,
  tallyfyApiPerOrg,
  tallyfyOAuth,
} from '../../../shared/tallyfy/index.ts';
import {
  createTallyfyGrants,
  createTokenProvider,
  DEFAULT_REFRESH_POLICY,
  refreshRequestSchema,
} from '../../../shared/tokens/index.ts';
import { cachedWebhookAuthLookup } from '../../../shared/webhooks/index.ts';
import { LocalQueue } from '../worker/local-queue.ts';
import { type ReceiverServer, startReceiverServer } from '../worker/receiver-http.ts';
import { localDynamo, localWorkerDeps, type WorkerParts } from '../worker/worker-deps.ts';

/** 128 characters of every kind the rule allows. */
const ORG_ID = `org-${'a1B2_'.repeat(24)}tail`;
/** The longest SECRET_PREFIX the config accepts. */
const PREFIX = `tallyfy-serverless/${'p'.repeat(MAX_SECRET_PREFIX_LENGTH - 'tallyfy-serverless/'.length)}`;

let sandbox: StartedSandbox;
let sm: LocalSecretsManager;
let parts: WorkerParts;
let receiver: ReceiverServer;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: {
      seed: 10,
      orgs: [
        {
          id: ORG_ID,
          templates: 1,
          processes: 1,
          tasksPerProcess: 3,
          completedRatio: 0,
          users: 2,
        },
      ],
    },
  });
  sm = await startLocalSecretsManager();
  dir = await mkdtemp(join(tmpdir(), 'longest-org-id-'));
});

afterAll(async () => {
  await receiver?.close();
  parts?.close();
  await sm?.close();
  await sandbox?.close();
  await closeSharedDispatchers();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the longest valid org id, end to end', () => {
  test('is registered, refreshed, receives a webhook that the worker acts on, and gets a report', async () => {
    expect(ORG_ID).toHaveLength(ORG_ID_MAX_LENGTH);
    expect(OrgIdSchema.safeParse(ORG_ID).success).toBe(true);
    expect(OrgIdSchema.safeParse(`${ORG_ID}x`).success).toBe(false);
    expect(PREFIX).toHaveLength(MAX_SECRET_PREFIX_LENGTH);

    // Arrange: the orgs table, the worker's parts under the longest prefix, the receiver
    const dynamoEndpoint = inject('dynamoEndpoint');
    const tableName = `longest-${Date.now().toString(36)}`;
    const { client, document } = localDynamo(dynamoEndpoint);
    await createOrgsTable(client, tableName);
    document.destroy();
    const queue = new LocalQueue();
    const bus = memoryEventBus();
    const { deps, parts: built } = localWorkerDeps({
      endpoints: {
        dynamoEndpoint,
        tableName,
        secretsManagerEndpoint: sm.endpoint,
        tallyfyBaseUrl: sandbox.url,
      },
      bus,
      deadLetters: queue.deadLetterSink,
      visibility: queue,
      secretPrefix: PREFIX,
    });
    parts = built;
    const { registry, tokenStore } = parts;
    const logger = createLogger({ serviceName: 'e2e', level: 'WARN', sink: memorySink().sink });
    const archiveDir = join(dir, 'archive');
    receiver = await startReceiverServer(
      createWebhookReceiverHandler({
        auth: cachedWebhookAuthLookup(registry, { ttlMs: 0, clock: Date.now }),
        queue,
        archive: createFileArchive({ baseDir: archiveDir }),
        clock: Date.now,
        logger,
      }),
    );
    const { admin, tasks } = (sandbox.dataset as GeneratedDataset).orgs[0] ?? {};
    const task = tasks?.find((candidate) => candidate.status !== 'completed');
    if (admin === undefined || task === undefined) throw new Error('the seed has no open task');

    // Act 1: `orgs add` with a personal access token of the org's admin
    const pat = sandbox.issuePersonalAccessToken(admin.id);
    const added = await addOrg(
      {
        registry,
        tokenStore,
        tallyfyBaseUrl: sandbox.url,
        tallyfyTokenUrl: sandbox.tokenUrl,
        webhookBaseUrl: `${receiver.url}/hooks`,
        clock: Date.now,
      },
      { orgId: ORG_ID, authMode: 'personal_access_token', secrets: { token: new Secret(pat) } },
    );
    expect(added.org).toMatchObject({ orgId: ORG_ID, status: 'active' });
    expect(added.org.credentialsSecretId).toBe(`${PREFIX}/orgs/${ORG_ID}/credentials`);
    expect(added.org.credentialsSecretId.length).toBeLessThanOrEqual(SECRET_NAME_MAX_LENGTH);

    // Act 2: an on-demand refresh request for the org, as a worker sends it
    const request = { orgId: ORG_ID, force: true, reason: 'manual' };
    expect(refreshRequestSchema.parse(request)).toEqual(request);
    const refresher = createTokenRefresherHandler({
      registry,
      secrets: tokenStore,
      grants: createTallyfyGrants(
        tallyfyOAuth({ baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl }),
      ),
      policy: DEFAULT_REFRESH_POLICY,
      clock: Date.now,
      random: Math.random,
      logger,
      concurrency: 1,
    });
    // the first run copies the grant `orgs add` checked the token with into the token secret
    expect(await refresher(request)).toMatchObject({
      kind: 'on-demand',
      result: { orgId: ORG_ID, outcome: 'recovered' },
    });
    const token = await tokenStore.readToken(ORG_ID);
    expect(token).toMatchObject({ orgId: ORG_ID, authMode: 'personal_access_token' });

    // Act 3: a rule, then Tallyfy completes a task and delivers its webhook to our URL
    await registry.putRule(ORG_ID, {
      ruleId: 'longest-id',
      body: {
        when: { event: 'task.completed' },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'comment_on_task', content: 'Seen by the longest org id.' }],
      },
    });
    sandbox.setWebhookUrl(ORG_ID, added.webhookUrl.reveal());
    await sandbox.completeTask(ORG_ID, task.id);
    await sandbox.flushWebhooks();
    const delivery = sandbox.webhookDeliveries().find((d) => d.event === 'task.completed');
    expect(delivery).toMatchObject({ ok: true, status: 202 });
    expect(queue.sent).toBe(1);
    await queue.drain(createEventWorkerHandler(deps));

    // Assess: the worker acted with the org's token, published, and marked the event done
    // the comment ends with its action's marker, so a retry in doubt can find it
    expect(sandbox.store.commentsOf(task.id).map((c) => c.content)).toEqual([
      expect.stringMatching(/^Seen by the longest org id\.\n\n\[automation tsf-[0-9a-f]{16}\]$/),
    ]);
    const published = bus.published.filter((event) => event.type === 'task.completed');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ orgId: ORG_ID, source: `tallyfy/${ORG_ID}` });
    expect(await registry.getEvent(published[0]?.id ?? '')).toMatchObject({ status: 'done' });
    expect(queue.deadLetters).toEqual([]);
    expect(readdirSync(join(archiveDir, 'webhooks'))).toEqual([ORG_ID]);

    // Act 4: the reconciler and reporter take the org on demand; the report lands under its id
    expect(parseReconcileEvent({ orgId: ORG_ID })).toEqual({ orgId: ORG_ID });
    const tokens = createTokenProvider({
      store: tokenStore,
      clock: Date.now,
      requestRefresh: async () => {
        throw new Error('the stored token is valid: no refresh expected');
      },
    });
    const apiFor = tallyfyApiPerOrg({
      auth: (id) => tokens.forOrg(id),
      client: { baseUrl: sandbox.url },
    });
    const reports = join(dir, 'reports-root');
    const reporter = createReporterHandler({
      source: tallyfyReportSource((orgId) => tallyfyClientLists(apiFor(orgId).client), {
        parseDate: parseTallyfyDateMs,
      }),
      sink: fileReportSink(reports),
      orgs: registryOrgLister(registry),
      clock: Date.now,
    });
    const result = await reporter({ orgId: ORG_ID });
    const [report] = result.orgs;
    expect(report).toMatchObject({ orgId: ORG_ID, ok: true });
    const keys = report?.ok ? report.keys : [];
    expect(keys).toContain(`reports/${ORG_ID}/latest/report.json`);
    for (const key of keys) expect(existsSync(join(reports, key))).toBe(true);
  });
});
