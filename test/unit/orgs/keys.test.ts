import { describe, expect, test } from 'vitest';
import { actionMarker, refreshShardOf, refreshShards } from '../../../shared/orgs/index.ts';
import { actionKey, orgKey } from '../../../shared/orgs/keys.ts';
import { CreateOrgInputSchema, IsoTimestampSchema } from '../../../shared/orgs/schemas.ts';
import { UpdateBuilder } from '../../../shared/orgs/store.ts';

describe('keys', () => {
  test('an org always lands in the same shard and 1,000 orgs spread over all 4', () => {
    expect(refreshShardOf('org5f4e3d2c1b0a', 4)).toBe(refreshShardOf('org5f4e3d2c1b0a', 4));
    const counts = new Map<string, number>();
    for (let index = 0; index < 1000; index += 1) {
      const shard = refreshShardOf(`org${index}`, 4);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(refreshShards(4));
    for (const count of counts.values()) expect(count).toBeGreaterThan(180);
  });

  test('action records share their event partition and sort in action order', () => {
    const a = actionKey({ dedupeKey: 'k', ruleId: 'r', actionIndex: 2 });
    const b = actionKey({ dedupeKey: 'k', ruleId: 'r', actionIndex: 10 });
    expect(a.pk).toBe('EVENT#k');
    expect(a.sk < b.sk).toBe(true);
    expect(orgKey('o1')).toEqual({ pk: 'ORG#o1', sk: 'META' });
  });

  test('the action marker is deterministic and differs per action', () => {
    const key = { dedupeKey: 'task.completed:t1', ruleId: 'r1', actionIndex: 0 };
    expect(actionMarker(key)).toBe(actionMarker({ ...key }));
    expect(actionMarker(key)).toMatch(/^tsf-[0-9a-f]{16}$/);
    expect(actionMarker(key)).not.toBe(actionMarker({ ...key, actionIndex: 1 }));
  });
});

describe('schemas and expressions', () => {
  test('timestamps are normalised so that they sort as strings', () => {
    expect(IsoTimestampSchema.parse('2026-03-01T12:00:00Z')).toBe('2026-03-01T12:00:00.000Z');
    expect(IsoTimestampSchema.parse('2026-03-01T13:00:00+01:00')).toBe('2026-03-01T12:00:00.000Z');
    expect(IsoTimestampSchema.safeParse('yesterday').success).toBe(false);
  });

  test('an org input with an unknown field is refused', () => {
    const input = {
      orgId: 'o1',
      name: 'n',
      authMode: 'password',
      credentialsSecretId: 'c',
      tokenSecretId: 't',
      webhookSecretHash: 'a'.repeat(64),
    };
    expect(CreateOrgInputSchema.safeParse(input).success).toBe(true);
    expect(CreateOrgInputSchema.safeParse({ ...input, lease: {} }).success).toBe(false);
  });

  test('the update builder aliases every name and registers only the values it uses', () => {
    const update = new UpdateBuilder().set('status', 'active').set('timezone', undefined);
    update.when(`${update.name('version')} = ${update.value(3)}`);
    expect(update.build()).toEqual({
      UpdateExpression: 'SET #status = :v0 REMOVE #timezone',
      ConditionExpression: '(#version = :v1)',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#timezone': 'timezone',
        '#version': 'version',
      },
      ExpressionAttributeValues: { ':v0': 'active', ':v1': 3 },
    });
  });
});
