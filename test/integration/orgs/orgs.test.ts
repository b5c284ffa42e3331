import { beforeAll, describe, expect, test } from 'vitest';
import {
  createOrgRegistry,
  InvalidInputError,
  OrgAlreadyExistsError,
  OrgNotFoundError,
  type OrgRegistry,
  StoreError,
  VersionConflictError,
  WatermarkConflictError,
} from '../../../shared/orgs/index.ts';
import { freshRegistry, inBatches, orgInput, sha256, type TestClock } from './support.ts';

let registry: OrgRegistry;
let clock: TestClock;

beforeAll(async () => {
  ({ registry, clock } = await freshRegistry('orgs-crud'));
});

describe('org items', () => {
  test('a created org reads back active, version 1, due at once and without a lease', async () => {
    const created = await registry.createOrg(orgInput('crudA', { timezone: 'Europe/Paris' }));
    const read = await registry.getOrg('crudA');
    expect(read).toEqual(created);
    expect(read).toMatchObject({
      orgId: 'crudA',
      status: 'active',
      version: 1,
      consecutiveFailures: 0,
      refreshDueAt: new Date(clock()).toISOString(),
      timezone: 'Europe/Paris',
      settings: {},
    });
    expect(read?.lease).toBeUndefined();
    expect(await registry.getOrg('nobody')).toBeUndefined();
  });

  test('creating an org id twice fails with OrgAlreadyExistsError and keeps the first', async () => {
    await registry.createOrg(orgInput('crudDup', { name: 'First' }));
    await expect(
      registry.createOrg(orgInput('crudDup', { name: 'Second' })),
    ).rejects.toBeInstanceOf(OrgAlreadyExistsError);
    expect((await registry.getOrg('crudDup'))?.name).toBe('First');
  });

  test('an org id with # or a malformed hash is refused before any write', async () => {
    await expect(registry.createOrg(orgInput('bad#id'))).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      registry.createOrg(orgInput('crudBadHash', { webhookSecretHash: 'not-a-hash' })),
    ).rejects.toMatchObject({ code: 'ORGS_INPUT_INVALID' });
    expect(await registry.getOrg('crudBadHash')).toBeUndefined();
  });

  test('updateOrg with a stale expectedVersion fails with VersionConflictError and changes nothing', async () => {
    const org = await registry.createOrg(orgInput('crudVer'));
    const updated = await registry.updateOrg(
      'crudVer',
      { name: 'Renamed', settings: { refreshMarginSeconds: 600 } },
      { expectedVersion: org.version },
    );
    expect(updated).toMatchObject({
      name: 'Renamed',
      version: 2,
      settings: { refreshMarginSeconds: 600 },
    });
    const conflict = registry.updateOrg('crudVer', { name: 'Lost update' }, { expectedVersion: 1 });
    await expect(conflict).rejects.toBeInstanceOf(VersionConflictError);
    await expect(conflict).rejects.toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    expect((await registry.getOrg('crudVer'))?.name).toBe('Renamed');
    await expect(
      registry.updateOrg('crudMissing', { name: 'x' }, { expectedVersion: 1 }),
    ).rejects.toBeInstanceOf(OrgNotFoundError);
  });

  test("an org's own token URL is stored with it, replaced, and removed with null", async () => {
    const created = await registry.createOrg(
      orgInput('crudTokenUrl', { tokenUrl: 'https://account.tallyfy.com/oauth/token' }),
    );
    expect(created.tokenUrl).toBe('https://account.tallyfy.com/oauth/token');
    const moved = await registry.updateOrg(
      'crudTokenUrl',
      { tokenUrl: 'https://go.tallyfy.com/oauth/token' },
      { expectedVersion: created.version },
    );
    expect((await registry.getOrg('crudTokenUrl'))?.tokenUrl).toBe(
      'https://go.tallyfy.com/oauth/token',
    );
    const cleared = await registry.updateOrg(
      'crudTokenUrl',
      { tokenUrl: null },
      { expectedVersion: moved.version },
    );
    expect(cleared.tokenUrl).toBeUndefined();
    expect(await registry.getOrg('crudTokenUrl')).not.toHaveProperty('tokenUrl');
    await expect(
      registry.createOrg(orgInput('crudBadUrl', { tokenUrl: 'https://user:pw@example.com/t' })),
    ).rejects.toMatchObject({ code: 'ORGS_INPUT_INVALID' });
  });

  test('updateOrg refuses fields that have their own method (status)', async () => {
    await registry.createOrg(orgInput('crudPatch'));
    await expect(
      registry.updateOrg('crudPatch', { status: 'disabled' } as never, { expectedVersion: 1 }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });

  test('setStatus with an expected version conflicts when the org moved on', async () => {
    await registry.createOrg(orgInput('crudStatus'));
    await registry.setStatus('crudStatus', 'disabled', 1);
    await expect(registry.setStatus('crudStatus', 'active', 1)).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    expect((await registry.getOrg('crudStatus'))?.status).toBe('disabled');
  });

  test('removeOrg deletes the org with its rules and watermarks, and is idempotent', async () => {
    await registry.createOrg(orgInput('crudGone'));
    await registry.putRule('crudGone', {
      ruleId: 'r1',
      body: { when: { type: 'task.completed' } },
    });
    await registry.putRule('crudGone', { ruleId: 'r2', body: {} });
    await registry.advanceWatermark('crudGone', 'tasks', '2026-03-01T00:00:00.000Z');
    expect(await registry.removeOrg('crudGone')).toEqual({ itemsDeleted: 4 });
    expect(await registry.getOrg('crudGone')).toBeUndefined();
    expect(await registry.listRules('crudGone', { consistent: true })).toEqual([]);
    expect(await registry.getWatermark('crudGone', 'tasks')).toBeUndefined();
    expect(await registry.removeOrg('crudGone')).toEqual({ itemsDeleted: 0 });
  });
});

describe('listing orgs', () => {
  test('listOrgs reads only org items from byKind, never the dedupe, rule or watermark items', async () => {
    const { registry: listing } = await freshRegistry('orgs-list');
    const ids = ['listC', 'listA', 'listE', 'listB', 'listD'];
    for (const id of ids) await listing.createOrg(orgInput(id));
    await listing.setStatus('listB', 'disabled');
    await listing.putRule('listA', { ruleId: 'r1', body: {} });
    await listing.advanceWatermark('listA', 'tasks', '2026-01-01T00:00:00.000Z');
    await inBatches(
      Array.from({ length: 300 }, (_, index) => `task.completed:t${index}`),
      25,
      (key) => listing.claimEvent(key, { orgId: 'listA', origin: 'webhook' }),
    );

    const page = await listing.listOrgsPage({ limit: 100 });
    expect(page.itemsRead).toBe(5);
    expect(page.cursor).toBeUndefined();
    expect(page.orgs.map((org) => org.orgId)).toEqual([
      'listA',
      'listB',
      'listC',
      'listD',
      'listE',
    ]);

    const all: string[] = [];
    for await (const org of listing.listOrgs({ limit: 2 })) all.push(org.orgId);
    expect(all).toEqual(['listA', 'listB', 'listC', 'listD', 'listE']);

    const active: string[] = [];
    for await (const org of listing.listOrgs({ status: 'active' })) active.push(org.orgId);
    expect(active).toEqual(['listA', 'listC', 'listD', 'listE']);
  });

  test('a page cursor carries on where the previous page stopped', async () => {
    const { registry: paging } = await freshRegistry('orgs-page');
    for (const id of ['p1', 'p2', 'p3']) await paging.createOrg(orgInput(id));
    const first = await paging.listOrgsPage({ limit: 2 });
    expect(first.orgs.map((org) => org.orgId)).toEqual(['p1', 'p2']);
    expect(first.cursor).toBeDefined();
    const second = await paging.listOrgsPage({ limit: 2, cursor: first.cursor });
    expect(second.orgs.map((org) => org.orgId)).toEqual(['p3']);
    await expect(paging.listOrgsPage({ cursor: '%%%' })).rejects.toBeInstanceOf(InvalidInputError);
  });

  test('a paginated read that DynamoDB refuses fails with a StoreError naming the operation', async () => {
    const { clients } = await freshRegistry('orgs-gone');
    const missing = createOrgRegistry({
      client: clients.document,
      tableName: 'orgs-no-such-table',
      clock: Date.now,
    });
    const failure = await missing.listRules('o1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreError);
    expect(failure).toMatchObject({ code: 'ORGS_STORE_FAILED', operation: 'listRules' });
    expect((failure as StoreError).cause).toMatchObject({ name: 'ResourceNotFoundException' });
    const listing = async () => {
      for await (const org of missing.listOrgs()) return org;
    };
    await expect(listing()).rejects.toMatchObject({ operation: 'listOrgs' });
  });
});

describe('rules', () => {
  test('rules are created, replaced (keeping createdAt), listed in id order and deleted', async () => {
    await registry.createOrg(orgInput('ruleOrg'));
    const first = await registry.putRule('ruleOrg', {
      ruleId: 'launch-onboarding',
      body: {
        when: { type: 'task.completed' },
        actions: [{ launch_process: { template: 'abc' } }],
      },
    });
    expect(first).toMatchObject({ orgId: 'ruleOrg', enabled: true, version: 1 });
    clock.advance(60_000);
    const replaced = await registry.putRule('ruleOrg', {
      ruleId: 'launch-onboarding',
      enabled: false,
      body: { when: { type: 'process.completed' }, actions: [] },
    });
    expect(replaced).toMatchObject({
      enabled: false,
      version: 2,
      createdAt: first.createdAt,
      updatedAt: new Date(clock()).toISOString(),
      body: { when: { type: 'process.completed' }, actions: [] },
    });
    await registry.putRule('ruleOrg', { ruleId: 'comment', body: { n: 1, ok: true, x: null } });
    expect(
      (await registry.listRules('ruleOrg', { consistent: true })).map((r) => r.ruleId),
    ).toEqual(['comment', 'launch-onboarding']);
    expect((await registry.getRule('ruleOrg', 'comment'))?.body).toEqual({
      n: 1,
      ok: true,
      x: null,
    });
    expect(await registry.deleteRule('ruleOrg', 'comment')).toBe(true);
    expect(await registry.deleteRule('ruleOrg', 'comment')).toBe(false);
    expect(await registry.getRule('ruleOrg', 'comment')).toBeUndefined();
  });

  test('a rule for an unregistered org is refused with OrgNotFoundError and not stored', async () => {
    await expect(registry.putRule('ghostOrg', { ruleId: 'r1', body: {} })).rejects.toBeInstanceOf(
      OrgNotFoundError,
    );
    expect(await registry.getRule('ghostOrg', 'r1')).toBeUndefined();
  });
});

describe('watermarks', () => {
  test('a watermark advances and never moves backwards', async () => {
    const first = await registry.advanceWatermark('wmOrg', 'tasks', '2026-03-01T10:00:00.000Z');
    expect(first).toMatchObject({
      advanced: true,
      watermark: { value: '2026-03-01T10:00:00.000Z' },
    });
    const back = await registry.advanceWatermark('wmOrg', 'tasks', '2026-03-01T09:00:00.000Z');
    expect(back).toMatchObject({
      advanced: false,
      watermark: { value: '2026-03-01T10:00:00.000Z' },
    });
    const same = await registry.advanceWatermark('wmOrg', 'tasks', '2026-03-01T10:00:00.000Z');
    expect(same.advanced).toBe(false);
    await registry.advanceWatermark('wmOrg', 'tasks', '2026-03-01T11:00:00.000Z');
    expect((await registry.getWatermark('wmOrg', 'tasks'))?.value).toBe('2026-03-01T11:00:00.000Z');
    expect(await registry.getWatermark('wmOrg', 'processes')).toBeUndefined();
  });

  test('advancing from an expected value that another writer moved fails with WatermarkConflictError', async () => {
    await registry.advanceWatermark('wmOrg2', 'tasks', 'A', { expected: null });
    await expect(
      registry.advanceWatermark('wmOrg2', 'tasks', 'B', { expected: null }),
    ).rejects.toBeInstanceOf(WatermarkConflictError);
    expect(
      (await registry.advanceWatermark('wmOrg2', 'tasks', 'C', { expected: 'A' })).advanced,
    ).toBe(true);
    await expect(
      registry.advanceWatermark('wmOrg2', 'tasks', 'D', { expected: 'A' }),
    ).rejects.toMatchObject({ code: 'ORGS_WATERMARK_CONFLICT', actual: 'C' });
  });
});

describe('webhook secrets', () => {
  test('after a rotation both hashes are valid until the grace window ends, then only the new one', async () => {
    const oldHash = sha256('old-secret');
    const newHash = sha256('new-secret');
    await registry.createOrg(orgInput('hookOrg', { webhookSecretHash: oldHash }));
    expect(await registry.findWebhookAuth('hookOrg')).toEqual({
      status: 'active',
      hashes: [oldHash],
    });

    await registry.rotateWebhookSecret('hookOrg', newHash, { graceSeconds: 3600 });
    expect(await registry.findWebhookAuth('hookOrg')).toEqual({
      status: 'active',
      hashes: [newHash, oldHash],
    });
    clock.advance(3600 * 1000 - 1);
    expect((await registry.findWebhookAuth('hookOrg'))?.hashes).toEqual([newHash, oldHash]);
    clock.advance(1);
    expect((await registry.findWebhookAuth('hookOrg'))?.hashes).toEqual([newHash]);
  });

  test('a rotation without grace drops the old hash at once; unknown and disabled orgs answer as such', async () => {
    await registry.createOrg(orgInput('hookOrg2'));
    const next = sha256('next');
    await registry.rotateWebhookSecret('hookOrg2', next.toUpperCase(), { graceSeconds: 0 });
    await registry.setStatus('hookOrg2', 'disabled');
    expect(await registry.findWebhookAuth('hookOrg2')).toEqual({
      status: 'disabled',
      hashes: [next],
    });
    expect(await registry.findWebhookAuth('hookUnknown')).toBeUndefined();
    expect(await registry.findWebhookAuth('bad#id')).toBeUndefined();
    await expect(
      registry.rotateWebhookSecret('hookUnknown', next, { graceSeconds: 60 }),
    ).rejects.toBeInstanceOf(OrgNotFoundError);
  });
});
