import { describe, expect, test } from 'vitest';
import { ruleOutcomes } from '../../../bin/console/pages/events.ts';
import type { ActionRecord } from '../../../shared/orgs/index.ts';

const record = (ruleId: string, actionIndex: number, status: 'started' | 'done'): ActionRecord => ({
  dedupeKey: 'task.completed:t1:2026-11-20T10:00:00.000Z',
  ruleId,
  actionIndex,
  status,
  attempts: 1,
  startedAt: '2026-11-20T10:00:01.000Z',
  leaseUntil: '2026-11-20T10:05:01.000Z',
  expiresAt: 1_900_000_000,
});

describe("an event's rule outcomes", () => {
  test('per rule: actions done and actions begun but never completed (in doubt); the bus record apart', () => {
    expect(
      ruleOutcomes([
        record('demo-po-approved', 0, 'done'),
        record('demo-po-approved', 1, 'done'),
        record('notify', 0, 'started'),
        record('_bus', 0, 'done'),
      ]),
    ).toEqual({
      rules: [
        { ruleId: 'demo-po-approved', done: 2, started: 0 },
        { ruleId: 'notify', done: 0, started: 1 },
      ],
      published: true,
    });
    expect(ruleOutcomes([record('_bus', 0, 'started')])).toEqual({ rules: [], published: false });
  });
});
