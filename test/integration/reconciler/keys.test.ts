import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { createEnvelope } from '../../../shared/events/index.ts';
import { eventKeys } from '../../../shared/reconcile/index.ts';
import { classifyWebhook } from '../../../shared/webhooks/index.ts';

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../unit/webhooks/fixtures/${name}`, import.meta.url), 'utf8'),
  );

/** The id the receiver gives a fixture webhook. */
function webhookKey(name: string): string {
  const classified = classifyWebhook(fixture(name));
  if (!classified.ok) throw new Error(`${name} does not classify`);
  const { type, subjectId, occurredAt } = classified.classification;
  return createEnvelope({
    orgId: 'org5f4e3d2c1b0a',
    type,
    subjectId,
    occurredAt,
    receivedAtMs: 0,
    origin: 'webhook',
    data: {},
  }).id;
}

describe('reconciler keys meet the receiver keys of the fixtures', () => {
  test('ISO webhook (seconds) and the API time with milliseconds', () => {
    const keys = eventKeys(
      'task.completed',
      't7c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5',
      '2026-11-19T10:42:13.456Z',
    );
    const hook = webhookKey('task-completed.json');
    expect(hook).toMatch(/^task\.completed:/);
    // the fixture's task id and time: the primary key is the webhook's
    const fromFixture = fixture('task-completed.json').this_task;
    expect(
      eventKeys('task.completed', fromFixture.id, `${fromFixture.completed_at.slice(0, -1)}.456Z`)
        .primary,
    ).toBe(hook);
    expect(keys.candidates[0]).toBe(keys.primary);
    expect(keys.candidates).toContain(
      'task.completed:t7c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5:2026-11-19T10:42:13.456Z',
    );
  });

  test('localized webhook (minutes, d/m/Y h:i A T) is among the candidates and primary for human orgs', () => {
    const hook = webhookKey('task-completed-last-step.json');
    const task = fixture('task-completed-last-step.json').this_task;
    const apiTime = '2026-11-21T15:10:37.120Z'; // the same completion, as the API reports it
    expect(eventKeys('task.completed', task.id, apiTime).candidates).toContain(hook);
    expect(eventKeys('task.completed', task.id, apiTime, 'human').primary).toBe(hook);
  });

  test('process launch and completion', () => {
    const launched = fixture('process-launched.json');
    expect(eventKeys('process.launched', launched.id, launched.started_at).primary).toBe(
      webhookKey('process-launched.json'),
    );
    const completed = fixture('process-completed.json');
    expect(eventKeys('process.completed', completed.id, completed.completed_at).primary).toBe(
      webhookKey('process-completed.json'),
    );
  });
});
