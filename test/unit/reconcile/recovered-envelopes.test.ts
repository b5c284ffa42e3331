/**
 * Issue 12 §4, as a property: for any state of a run (names, kick-off and form values, how far
 * it got, the org's date setting, template or org-watcher webhooks), the envelope the receiver
 * builds from the webhook and the one the reconciler builds from the API's view of the same
 * event agree on every field a rule can name, and every rule that matches one matches the
 * other. Both sides come from the Tallyfy sandbox, whose webhooks have the fixtures' shapes
 * (checked first, fixture by fixture) and whose API answers as Tallyfy's does.
 */
import { readFileSync } from 'node:fs';
import * as fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { completeTask, launchRun } from '../../../local/tallyfy-sandbox/lifecycle.ts';
import {
  renderRun,
  renderTag,
  renderTask,
  renderTemplate,
  renderUser,
} from '../../../local/tallyfy-sandbox/render.ts';
import { DEMO, seedDemo } from '../../../local/tallyfy-sandbox/seed.ts';
import { SandboxStore } from '../../../local/tallyfy-sandbox/store.ts';
import type { Outgoing } from '../../../local/tallyfy-sandbox/webhooks.ts';
import { eventView, matches, type When } from '../../../shared/automations/index.ts';
import { createEnvelope, type EventEnvelope } from '../../../shared/events/index.ts';
import {
  eventKeys,
  processPayload,
  type RunView,
  taskCompletedPayload,
  type WebhookDateFormat,
} from '../../../shared/reconcile/index.ts';
import {
  checklistSchema,
  runSchema,
  tagSchema,
  taskSchema,
  userSchema,
} from '../../../shared/tallyfy/index.ts';
import { classifyWebhook } from '../../../shared/webhooks/index.ts';

const ORG = DEMO.orgId;
const FIXTURES = [
  'task-completed.json',
  'task-completed-last-step.json',
  'process-launched.json',
  'process-completed.json',
  'watcher-task-completed.json',
] as const;

/**
 * Fields the API does not give, so a recovered event cannot carry them (docs/reconciler.md):
 * the guests' task links, the tracker URL, and the launch payload's time-dependent and
 * kick-off-form bookkeeping.
 */
const NOT_REBUILT = new Set([
  'guest-links',
  'ClientURL',
  'late_tasks',
  'due_soon',
  'prerun_status',
  'prerun_completed_at',
  'prerun_completed_by',
]);

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../webhooks/fixtures/${name}`, import.meta.url), 'utf8'));

/** A value with the keys Tallyfy's API cannot give removed, at any depth. */
function rebuildable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebuildable);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !NOT_REBUILT.has(key))
      .map(([key, inner]) => [key, rebuildable(inner)]),
  );
}

/** The object keys of a payload, as paths (`this_task.owners.users`), for shape comparison. */
function shapeOf(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const path = `${prefix}${key}`;
    // form values, per-step maps and guest links are keyed by data, not by shape
    if (
      [
        'captures',
        'prerun',
        'form-fields',
        'ko-form-fields',
        'process-tasks',
        'process_forms',
        'guest-links',
      ].includes(key)
    ) {
      return [path];
    }
    return [path, ...shapeOf(inner, `${path}.`)];
  });
}

interface Scenario {
  format: WebhookDateFormat;
  watcher: boolean;
  name: string;
  vendor: string;
  amount: string;
  decision: string;
  poNumber: string;
  /** How many of the purchase order's 3 tasks complete. */
  completed: number;
  tagged: boolean;
  stepMs: number;
}

const scenarios = fc.record({
  format: fc.constantFrom<WebhookDateFormat>('iso', 'human'),
  watcher: fc.boolean(),
  name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''),
  vendor: fc.string({ minLength: 1, maxLength: 30 }),
  amount: fc.integer({ min: 0, max: 1_000_000 }).map(String),
  decision: fc.constantFrom('Approved', 'Rejected', 'Needs info'),
  poNumber: fc.string({ maxLength: 12 }),
  completed: fc.integer({ min: 0, max: 3 }),
  tagged: fc.boolean(),
  stepMs: fc.integer({ min: 1_000, max: 3 * 86_400_000 }),
});

/** One webhook the sandbox sent, with the API's view of its run right after it. */
interface Sent {
  outgoing: Outgoing;
  view: RunView;
}

/** Plays a scenario in a fresh sandbox store: every webhook and the API's view at that moment. */
function play(scenario: Scenario): Sent[] {
  const store = new SandboxStore();
  let now = Date.parse('2026-11-22T09:30:17.250Z');
  seedDemo(store, now);
  const org = store.orgs.get(ORG);
  const template = store.templates.get(DEMO.templates.purchaseOrder.id);
  if (org === undefined || template === undefined) throw new Error('demo seed missing');
  org.dateFormat = scenario.format;
  org.webhookUrl = 'http://127.0.0.1:1/hooks';
  if (scenario.watcher) {
    store.putWatcher({
      id: 'w1',
      orgId: ORG,
      userId: DEMO.admin.id,
      objectType: 'organization',
      objectId: ORG,
      notificationType: 'webhook',
      frequency: 'electric',
      webhook: 'http://127.0.0.1:1/watch',
      createdAt: new Date(now).toISOString(),
    });
  }
  const apiView = (runId: string): RunView => {
    const run = store.runs.get(runId);
    if (run === undefined) throw new Error('run missing');
    return {
      orgId: ORG,
      run: runSchema.parse(renderRun(store, run)),
      tasks: store.tasksOfRun(runId).map((t) => taskSchema.parse(renderTask(t))),
      template: checklistSchema.parse(renderTemplate(template, true)),
      users: new Map(
        store
          .index(ORG)
          .userIds.map((id) => store.users.get(id))
          .filter((u) => u !== undefined)
          .map((u) => [u.id, userSchema.parse(renderUser(u, ORG))] as const),
      ),
      tags: new Map(
        store.index(ORG).tags.map((t) => [t.id, tagSchema.parse(renderTag(t))] as const),
      ),
      format: scenario.format,
    };
  };
  const sent: Sent[] = [];
  const launched = launchRun(
    store,
    org,
    {
      template,
      name: scenario.name,
      prerun: { vendor: scenario.vendor, 'requested-amount': scenario.amount },
      launcherId: DEMO.admin.id,
    },
    now,
  );
  if (scenario.tagged) launched.run.tagIds.push(DEMO.tags.itHardware);
  for (const outgoing of launched.events) sent.push({ outgoing, view: apiView(launched.run.id) });
  const captures: Record<string, string>[] = [
    { vendor: scenario.vendor },
    { 'approval-decision': scenario.decision, 'approved-amount': scenario.amount },
    { 'po-number': scenario.poNumber },
  ];
  const tasks = store.tasksOfRun(launched.run.id);
  for (const [i, task] of tasks.slice(0, scenario.completed).entries()) {
    now += scenario.stepMs;
    const done = completeTask(
      store,
      org,
      task.id,
      task.ownerIds[0] ?? DEMO.admin.id,
      now,
      captures[i],
    );
    if (!done.ok) throw new Error(`could not complete ${task.id}`);
    for (const outgoing of done.events) sent.push({ outgoing, view: apiView(launched.run.id) });
  }
  return sent;
}

/** The receiver's envelope of a webhook body. */
function fromWebhook(body: unknown): EventEnvelope {
  const classified = classifyWebhook(body as Record<string, unknown>);
  if (!classified.ok) throw new Error('the sandbox sent a webhook the receiver refuses');
  const { type, subjectId, occurredAt } = classified.classification;
  return createEnvelope({
    orgId: ORG,
    type,
    subjectId,
    occurredAt,
    receivedAtMs: Date.parse('2026-11-23T00:00:00Z'),
    origin: 'webhook',
    data: body,
  });
}

/** The reconciler's envelope of the same event, from the API's view only. */
function fromApi(type: EventEnvelope['type'], subjectId: string, view: RunView): EventEnvelope {
  const task = view.tasks.find((t) => t.id === subjectId);
  const [apiTime, data] =
    type === 'task.completed'
      ? [task?.completed_at, task === undefined ? undefined : taskCompletedPayload(view, task)]
      : [
          type === 'process.launched'
            ? String((view.run as Record<string, unknown>).started_at)
            : view.run.completed_at,
          processPayload(view),
        ];
  if (typeof apiTime !== 'string' || data === undefined)
    throw new Error('no such event in the API');
  const keys = eventKeys(type, subjectId, apiTime, view.format);
  return createEnvelope({
    orgId: ORG,
    type,
    subjectId,
    occurredAt: keys.occurredAt,
    receivedAtMs: Date.parse('2026-11-23T00:05:00Z'),
    origin: 'reconciler',
    data,
  });
}

/** What a rule can name of an event: its view, without what differs by nature (origin, arrival). */
function ruleVisible(envelope: EventEnvelope) {
  const view = eventView(envelope, envelope.data);
  const { origin: _origin, receivedAt: _receivedAt, ...event } = view.event;
  return rebuildable({
    event,
    task: view.task,
    process: view.process,
    template: view.template,
    fields: view.fields,
    completer: view.completer,
    launcher: view.launcher,
  });
}

/** A rule's `when` drawn from (and around) an event's own values. */
const rulesFor = (envelope: EventEnvelope) => {
  const view = eventView(envelope, envelope.data);
  const fieldNames = Object.keys(view.fields);
  return fc.record(
    {
      event: fc.constantFrom<When['event']>(envelope.type, 'task.completed', [
        'process.launched',
        'process.completed',
      ]),
      template: fc.option(
        fc.record({
          name: fc.constantFrom(String(view.template?.title ?? 'x'), 'purchase ORDER ', 'Other'),
        }),
        { nil: undefined },
      ),
      step: fc.option(
        fc.record({
          alias: fc.constantFrom(String(view.task?.alias ?? 'x'), 'approve-po', 'issue-po'),
        }),
        { nil: undefined },
      ),
      fields: fc.option(
        fc.dictionary(
          fc.constantFrom(...fieldNames, 'missing-field'),
          fc.oneof(
            fc.constantFrom(...fieldNames.map((f) => String(view.fields[f])), 'Approved'),
            fc.record({ exists: fc.boolean() }),
            fc.record({ gte: fc.integer({ min: 0, max: 1_000_000 }) }),
          ),
          { maxKeys: 2 },
        ),
        { nil: undefined },
      ),
    },
    { requiredKeys: ['event'] },
  ) as fc.Arbitrary<When>;
};

describe('a recovered event is the same event', () => {
  test.each(FIXTURES)('the sandbox sends %s in the fixture shape', (name) => {
    const sent = play({
      format: 'iso',
      watcher: name.startsWith('watcher'),
      name: 'PO - Northwind Traders - laptops',
      vendor: 'Northwind Traders',
      amount: '12500',
      decision: 'Approved',
      poNumber: 'PO-1',
      completed: 3,
      tagged: true,
      stepMs: 60_000,
    });
    const wanted = fixture(name);
    const kind = name.startsWith('process-launched')
      ? 'process.launched'
      : name.startsWith('process-completed')
        ? 'process.completed'
        : 'task.completed';
    const target = name.startsWith('watcher') ? 'watcher' : 'template';
    const candidates = sent.filter(
      (s) => s.outgoing.event === kind && s.outgoing.target === target,
    );
    const body = (name === 'task-completed-last-step.json' ? candidates.at(-1) : candidates[0])
      ?.outgoing.body;
    expect(shapeOf(body).sort()).toEqual(shapeOf(wanted).sort());
  });

  test('webhook and API views agree on every rule-visible field, and on every rule', () => {
    fc.assert(
      fc.property(
        scenarios
          .chain((scenario) => {
            const sent = play(scenario);
            return fc.record({
              sent: fc.constant(sent),
              index: fc.integer({ min: 0, max: sent.length - 1 }),
            });
          })
          .chain(({ sent, index }) => {
            const chosen = sent[index] as Sent;
            const webhook = fromWebhook(chosen.outgoing.body);
            return fc.record({
              chosen: fc.constant(chosen),
              webhook: fc.constant(webhook),
              rules: fc.array(rulesFor(webhook), { maxLength: 8 }),
            });
          }),
        ({ chosen, webhook, rules }) => {
          const recovered = fromApi(webhook.type, webhook.subject ?? '', chosen.view);
          expect(recovered.id).toBe(webhook.id);
          expect(ruleVisible(recovered)).toEqual(ruleVisible(webhook));
          // the payload itself too, where a template hook and the rebuilt one share a shape
          if (chosen.outgoing.target === 'template') {
            expect(rebuildable(recovered.data)).toEqual(rebuildable(webhook.data));
          }
          const a = eventView(webhook, webhook.data);
          const b = eventView(recovered, recovered.data);
          for (const when of rules) expect(matches(when, b)).toBe(matches(when, a));
        },
      ),
      { numRuns: 150 },
    );
  });
});
