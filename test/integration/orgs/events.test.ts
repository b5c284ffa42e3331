import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ActionStateError,
  createOrgsTable,
  EventNotFoundError,
  InvalidInputError,
  MIN_DEDUPE_TTL_SECONDS,
  type OrgRegistry,
} from '../../../shared/orgs/index.ts';
import { freshRegistry, type TestClock } from './support.ts';

let registry: OrgRegistry;
let clock: TestClock;
let setup: Awaited<ReturnType<typeof freshRegistry>>;

beforeAll(async () => {
  setup = await freshRegistry('orgs-events');
  ({ registry, clock } = setup);
});

describe('orgs table', () => {
  test('createOrgsTable is idempotent and leaves both indexes and TTL on expiresAt', async () => {
    const again = await createOrgsTable(setup.clients.client, setup.tableName);
    expect(again).toEqual({ created: false, indexesAdded: [], ttlEnabled: true });
    const { Table } = await setup.clients.client.send(
      new DescribeTableCommand({ TableName: setup.tableName }),
    );
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual([
      'byKind',
      'byRefreshDue',
    ]);
    const ttl = await setup.clients.client.send(
      new DescribeTimeToLiveCommand({ TableName: setup.tableName }),
    );
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'expiresAt',
      TimeToLiveStatus: 'ENABLED',
    });
  });
});

describe('dedupe', () => {
  test('the first claim of an event is new, every later one a duplicate', async () => {
    const claims = await Promise.all(
      Array.from({ length: 5 }, () =>
        registry.claimEvent('task.completed:t1:2026-03-01T11:59:00Z', {
          orgId: 'evOrg',
          origin: 'webhook',
        }),
      ),
    );
    expect(claims.filter((claim) => claim === 'new')).toHaveLength(1);
    expect(claims.filter((claim) => claim === 'duplicate')).toHaveLength(4);
    expect(await registry.getEvent('task.completed:t1:2026-03-01T11:59:00Z')).toMatchObject({
      orgId: 'evOrg',
      origin: 'webhook',
      status: 'claimed',
      firstSeenAt: new Date(clock()).toISOString(),
      expiresAt: Math.floor(clock() / 1000) + MIN_DEDUPE_TTL_SECONDS,
    });
  });

  test('a claim whose TTL passed (but DynamoDB has not deleted yet) is new again', async () => {
    const key = 'process.launched:p9';
    expect(await registry.claimEvent(key, { orgId: 'evOrg', origin: 'reconciler' })).toBe('new');
    clock.advance(MIN_DEDUPE_TTL_SECONDS * 1000 + 1000);
    expect(await registry.getEvent(key)).toBeUndefined();
    expect(await registry.claimEvent(key, { orgId: 'evOrg', origin: 'replay' })).toBe('new');
    expect((await registry.getEvent(key))?.origin).toBe('replay');
  });

  test('a TTL under 7 days is refused', async () => {
    await expect(
      registry.claimEvent('short', { orgId: 'evOrg', origin: 'webhook', ttlSeconds: 3600 }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });

  test('markEvent sets the status of a claimed event and refuses an unclaimed one', async () => {
    await registry.claimEvent('task.completed:t2', { orgId: 'evOrg', origin: 'webhook' });
    clock.advance(5000);
    expect(await registry.markEvent('task.completed:t2', 'done')).toMatchObject({
      status: 'done',
      updatedAt: new Date(clock()).toISOString(),
    });
    await expect(registry.markEvent('never-claimed', 'done')).rejects.toBeInstanceOf(
      EventNotFoundError,
    );
  });
});

describe('action idempotency', () => {
  const key = { dedupeKey: 'task.completed:t3', ruleId: 'onboard', actionIndex: 0 };

  test('an action begins once, completes with its result, and is then reported done', async () => {
    const begun = await registry.beginAction(key);
    expect(begun).toMatchObject({ outcome: 'first', record: { status: 'started', attempts: 1 } });
    const done = await registry.completeAction(key, { runId: 'run-1' });
    expect(done).toMatchObject({ status: 'done', result: { runId: 'run-1' } });
    expect(await registry.beginAction(key)).toMatchObject({
      outcome: 'done',
      record: { result: { runId: 'run-1' }, attempts: 1 },
    });
    // completing again keeps the first result
    expect((await registry.completeAction(key, { runId: 'run-2' })).result).toEqual({
      runId: 'run-1',
    });
  });

  test('a worker that died after beginning leaves the action in doubt once its attempt lease ran out', async () => {
    const died = { dedupeKey: 'task.completed:t4', ruleId: 'onboard', actionIndex: 1 };
    await registry.beginAction(died, { leaseMs: 60_000 });
    expect(await registry.beginAction(died, { leaseMs: 60_000 })).toMatchObject({
      outcome: 'busy',
      record: { attempts: 1 },
    });
    clock.advance(60_000);
    const retry = await registry.beginAction(died, { leaseMs: 60_000 });
    expect(retry).toMatchObject({
      outcome: 'in_doubt',
      record: { status: 'started', attempts: 2 },
    });
    expect(retry.record.result).toBeUndefined();
    await registry.completeAction(died, { runId: 'found-by-marker' });
    expect((await registry.listActions('task.completed:t4')).map((r) => r.status)).toEqual([
      'done',
    ]);
  });

  test('an abandoned attempt (effect certainly not done) lets the next attempt start clean', async () => {
    const refused = { dedupeKey: 'task.completed:t5', ruleId: 'r', actionIndex: 0 };
    const first = await registry.beginAction(refused);
    expect(await registry.abandonAction(refused, { attempts: 99 })).toBe(false);
    expect(await registry.abandonAction(refused, { attempts: first.record.attempts })).toBe(true);
    expect((await registry.beginAction(refused)).outcome).toBe('first');
  });

  test('completing an action that never began fails with ActionStateError', async () => {
    await expect(
      registry.completeAction({ dedupeKey: 'nothing', ruleId: 'r', actionIndex: 0 }, { ok: true }),
    ).rejects.toBeInstanceOf(ActionStateError);
    expect(
      await registry.getAction({ dedupeKey: 'nothing', ruleId: 'r', actionIndex: 0 }),
    ).toBeUndefined();
  });
});
