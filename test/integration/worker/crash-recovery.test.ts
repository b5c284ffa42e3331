import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { actionMarker } from '../../../shared/orgs/index.ts';
import { runsWithMarker, startWorld, type World } from './support.ts';

let world: World;
let child: ChildProcess | undefined;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await world?.close();
});

/** Resolves with the child's first stdout line starting with `prefix`. */
function lineFrom(proc: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith(prefix));
      if (line) resolve(line);
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.on('exit', (code) =>
      reject(new Error(`child exited (${code}) before ${prefix}: ${stderr}`)),
    );
  });
}

describe('a worker killed between the side effect and the ack', () => {
  test('the redelivered (and duplicated) event launches the process exactly once', async () => {
    const { sandbox, orgId } = world;
    const { tasks, templates } = sandbox.demo;
    await world.putRule({
      ruleId: 'po-approved',
      body: {
        when: { event: 'task.completed', step: { alias: 'approve-po' } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'launch_process',
            template: templates.onboarding.id,
            name: 'Onboard {{fields.vendor}}',
          },
          { type: 'comment_on_task', content: 'Launched {{actions.0.runId}}' },
        ],
      },
    });
    const runsBefore = sandbox.store.runsOf(orgId).length;
    await sandbox.completeTask(orgId, tasks.approvePo);
    await sandbox.flushWebhooks();
    const delivery = world.queue.receive(1);
    expect(delivery?.Records).toHaveLength(1);
    const body = delivery?.Records[0]?.body ?? '';
    const eventId = (JSON.parse(body) as { id: string }).id;
    const marker = actionMarker({ dedupeKey: eventId, ruleId: 'po-approved', actionIndex: 0 });

    // a real worker process launches the process, then dies before recording it or acking
    child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./crash-child.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          WORKER_CRASH_CONFIG: JSON.stringify({
            endpoints: world.endpoints,
            event: delivery,
            crashAt: { ruleId: 'po-approved', actionIndex: 0 },
          }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const line = await lineFrom(child, 'SIDE_EFFECT_DONE');
    expect(runsWithMarker(world, marker)).toHaveLength(1); // the sandbox saw the launch
    expect(line).toContain(runsWithMarker(world, marker)[0]?.id);
    const exited = new Promise((resolve) => child?.on('exit', resolve));
    child.kill('SIGKILL');
    expect(await exited).toBeNull(); // killed by the signal, no exit code
    const record = await world.registry.getAction({
      dedupeKey: eventId,
      ruleId: 'po-approved',
      actionIndex: 0,
    });
    expect(record?.status).toBe('started');

    // SQS redelivers the unacknowledged message after its visibility timeout, and Tallyfy's
    // duplicate webhook brings the same event once more; the dead attempt's lease has run out
    world.queue.abandonInFlight();
    world.queue.sendBody(body, orgId);
    world.advance(121_000);
    await world.queue.drain(world.worker);

    expect(runsWithMarker(world, marker)).toHaveLength(1);
    expect(sandbox.store.runsOf(orgId).length).toBe(runsBefore + 1);
    const launch = world.actions.filter((a) => a.ruleId === 'po-approved' && a.actionIndex === 0);
    // the two copies may meet while one holds the action's lease: the other then backs off
    // (`failed` with AUTOMATIONS_ACTION_BUSY, retried through the queue) and finds it done
    const busy = launch.filter((a) => a.outcome === 'failed');
    expect(busy.every((a) => a.code === 'AUTOMATIONS_ACTION_BUSY')).toBe(true);
    // the second copy finds the action done, or (when the first finished the whole event before
    // it was claimed, or after it backed off) the event done: a duplicate acked before any rule
    // runs. Which one depends on timing (a loaded machine); either way there is one launch.
    const settled = launch.filter((a) => a.outcome !== 'failed').map((a) => a.outcome);
    expect([['recovered'], ['recovered', 'skipped_done']]).toContainEqual(settled);
    expect(launch[0]?.result).toEqual({
      runId: runsWithMarker(world, marker)[0]?.id,
      recovered: true,
    });
    const comments = sandbox.store.commentsOf(tasks.approvePo);
    expect(comments.map((c) => c.content)).toEqual([
      `Launched ${runsWithMarker(world, marker)[0]?.id}`,
    ]);
    expect(world.bus.published.filter((e) => e.id === eventId)).toHaveLength(1);
    expect((await world.registry.getEvent(eventId))?.status).toBe('done');
    expect(world.queue.deadLetters).toHaveLength(0);
  });

  test('an attempt that died before its request reached Tallyfy launches on the retry', async () => {
    const { sandbox, orgId } = world;
    const { templates } = sandbox.demo;
    // the onboarding run's first open task completes; a rule launches from it
    const [task] = sandbox.store
      .tasksOfRun(sandbox.demo.runs.onboardingActive)
      .filter((t) => t.status !== 'completed');
    expect(task).toBeDefined();
    await world.putRule({
      ruleId: 'onboarding-step',
      body: {
        when: { event: 'task.completed', template: { id: templates.onboarding.id } },
        // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
        then: [
          {
            type: 'launch_process',
            template: templates.purchaseOrder.id,
            name: 'PO for {{task.title}}',
          },
        ],
      },
    });
    await sandbox.completeTask(orgId, task?.id ?? '');
    await sandbox.flushWebhooks();
    const [message] = world.queue.messages;
    const eventId = (JSON.parse(message?.body ?? '{}') as { id: string }).id;
    const key = { dedupeKey: eventId, ruleId: 'onboarding-step', actionIndex: 0 };
    // the earlier attempt: begun, then the worker died before sending anything
    await world.registry.claimEvent(eventId, { orgId, origin: 'webhook' });
    expect((await world.registry.beginAction(key, { leaseMs: 1000 })).outcome).toBe('first');
    world.advance(2000);

    await world.queue.drain(world.worker);

    const marker = actionMarker(key);
    expect(runsWithMarker(world, marker)).toHaveLength(1);
    expect(
      world.actions.filter((a) => a.ruleId === 'onboarding-step').map((a) => a.outcome),
    ).toEqual(['done']);
  });
});
