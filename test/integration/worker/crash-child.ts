/**
 * A worker process that dies mid-action, for the crash test: it handles one SQS record with
 * the real worker over the local engines, and when the action named in its config has done its
 * side effect (right before `completeAction` records it) it prints SIDE_EFFECT_DONE and waits to
 * be SIGKILLed: the message is never acknowledged and the action record stays `started`.
 *
 * Run: node --import tsx test/integration/worker/crash-child.ts  (config in WORKER_CRASH_CONFIG)
 */
import type { SQSEvent } from 'aws-lambda';
import { createEventWorkerHandler } from '../../../functions/event-worker/handler.ts';
import { memoryEventBus } from '../../../shared/events/index.ts';
import type { OrgRegistry } from '../../../shared/orgs/index.ts';
import { type LocalEndpoints, localWorkerDeps } from './worker-deps.ts';

interface CrashConfig {
  endpoints: LocalEndpoints;
  event: SQSEvent;
  crashAt: { ruleId: string; actionIndex: number };
}

const config = JSON.parse(process.env.WORKER_CRASH_CONFIG ?? '') as CrashConfig;

const wrapRegistry = (registry: OrgRegistry): OrgRegistry => ({
  ...registry,
  async completeAction(key, result) {
    if (key.ruleId === config.crashAt.ruleId && key.actionIndex === config.crashAt.actionIndex) {
      process.stdout.write(`SIDE_EFFECT_DONE ${JSON.stringify(result)}\n`);
      await new Promise(() => undefined); // hang until killed
    }
    return registry.completeAction(key, result);
  },
});

const { deps } = localWorkerDeps({
  endpoints: config.endpoints,
  bus: memoryEventBus(),
  deadLetters: { send: async () => undefined },
  visibility: { change: async () => undefined },
  wrapRegistry,
});
const handler = createEventWorkerHandler(deps);
const response = await handler(config.event);
process.stdout.write(`FINISHED ${JSON.stringify(response)}\n`);
process.exit(0);
