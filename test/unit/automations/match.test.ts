import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  eventView,
  fieldMatches,
  matches,
  parseRuleBody,
  RuleInvalidError,
  renderTemplate,
} from '../../../shared/automations/index.ts';
import { createEnvelope } from '../../../shared/events/index.ts';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../webhooks/fixtures/${name}`, import.meta.url), 'utf8'));

const taskView = () => {
  const data = fixture('task-completed.json');
  const envelope = createEnvelope({
    orgId: 'org5f4e3d2c1b0a',
    type: 'task.completed',
    subjectId: 't7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d',
    occurredAt: '2026-11-19T10:42:13Z',
    receivedAtMs: Date.parse('2026-11-19T10:42:14Z'),
    origin: 'webhook',
    data,
  });
  return eventView(envelope, data);
};

describe('event view', () => {
  test('a task webhook exposes task, process, template and form fields (captures win)', () => {
    const view = taskView();
    expect(view.task?.alias).toBe('approve-po');
    expect(view.process?.id).toBe('r1a2b3c4d5e64f7a8b9c0d1e2f3a4b5c');
    expect(view.template).toMatchObject({
      id: 'c3b2a1f0e9d84c7b6a5f4e3d2c1b0a9f',
      title: 'Purchase order',
    });
    expect(view.fields).toMatchObject({
      vendor: 'Northwind Traders',
      'approval-decision': 'Approved',
    });
  });

  test('watcher events and process webhooks map to the same view', () => {
    const watcher = fixture('watcher-task-completed.json');
    const w = eventView(
      createEnvelope({
        orgId: 'o1',
        type: 'task.completed',
        receivedAtMs: 0,
        origin: 'webhook',
        data: watcher,
      }),
      watcher,
    );
    expect(w.task?.alias).toBe('approve-po');
    const launched = fixture('process-launched.json');
    const p = eventView(
      createEnvelope({
        orgId: 'o1',
        type: 'process.launched',
        receivedAtMs: 0,
        origin: 'webhook',
        data: launched,
      }),
      launched,
    );
    expect(p.task).toBeUndefined();
    expect(p.process?.id).toBe(launched.id);
    expect(p.template?.id).toBe(launched.checklist_id);
  });
});

describe('next task', () => {
  const viewWith = (nextTask: unknown) => {
    const data = { ...fixture('task-completed-last-step.json'), next_task: nextTask };
    return eventView(
      createEnvelope({
        orgId: 'o1',
        type: 'task.completed',
        receivedAtMs: 0,
        origin: 'webhook',
        data,
      }),
      data,
    );
  };

  test.each([
    ['[]', []],
    ['{}', {}],
    ['null', null],
    ['absent', undefined],
  ])('next_task %s at the end of a process is no next task', (_name, nextTask) => {
    const view = viewWith(nextTask);
    expect(view.nextTask).toBeUndefined();
    expect(renderTemplate('next: {{nextTask.id?}}', view)).toBe('next: ');
  });

  test('a next_task object is the next task, for rules to act on', () => {
    const view = taskView();
    expect(view.nextTask?.id).toBe((fixture('task-completed.json').next_task as { id: string }).id);
    expect(renderTemplate('{{nextTask.id}}', view)).toBe(view.nextTask?.id);
  });
});

describe('rule matching', () => {
  test('event type, template, step and field conditions must all hold; text ignores case', () => {
    const view = taskView();
    const when = {
      event: ['task.completed'] as ['task.completed'],
      template: { name: ' PURCHASE order ' },
      step: { alias: 'approve-po', title: 'approve purchase order' },
      fields: { 'approval-decision': 'approved', 'approved-amount': { gte: 10000, lt: 20000 } },
    };
    expect(matches(when, view)).toBe(true);
    expect(matches({ ...when, event: ['process.launched'] }, view)).toBe(false);
    expect(matches({ ...when, template: { id: 'other' } }, view)).toBe(false);
    expect(matches({ ...when, step: { alias: 'issue-po' } }, view)).toBe(false);
    expect(matches({ ...when, fields: { 'approved-amount': { gt: 12500 } } }, view)).toBe(false);
    expect(matches({ ...when, fields: { missing: { exists: false } } }, view)).toBe(true);
    expect(matches({ ...when, fields: { missing: 'x' } }, view)).toBe(false);
  });

  test('field operators', () => {
    expect(fieldMatches('12,500', { gte: 12500 })).toBe(true);
    expect(fieldMatches('abc', { gt: 1 })).toBe(false);
    expect(fieldMatches('Rejected', { in: ['approved', 'rejected'] })).toBe(true);
    expect(fieldMatches(['Laptop', 'Dock'], { contains: 'dock' })).toBe(true);
    expect(fieldMatches(undefined, { notEquals: 'x' })).toBe(false);
    expect(fieldMatches('y', { notEquals: 'x' })).toBe(true);
    expect(fieldMatches(true, true)).toBe(true);
    expect(fieldMatches('', { exists: true })).toBe(false);
  });
});

describe('rule bodies', () => {
  test('a valid body parses; an invalid one names each failed check, not values', () => {
    const body = parseRuleBody('r1', {
      when: { event: 'task.completed' },
      // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
      then: [{ type: 'comment_on_task', content: 'Done' }],
    });
    expect(body.then[0]?.type).toBe('comment_on_task');
    const bad = () =>
      parseRuleBody('r2', {
        when: { event: 'task.exploded' },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [{ type: 'http_post', url: 'ftp://x', secret: { value: 'short' } }],
        extra: true,
      });
    expect(bad).toThrow(RuleInvalidError);
    expect(bad).toThrow(/rule r2: .*when\.event.*then\.0\.url/s);
    expect(bad).not.toThrow(/short/);
  });
});
