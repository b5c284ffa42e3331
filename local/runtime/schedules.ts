/**
 * The EventBridge rules of the stack as local timers: each fires the same `Scheduled Event`
 * shape EventBridge delivers to the function (infra/constructs/*: `rate(N minutes)` for the
 * refresher and reconciler, `cron(0 H * * ? *)` for the reporter).
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';

export const LOCAL_ACCOUNT = '000000000000';

/** When a schedule fires next, given the current time (epoch ms). */
export type NextFire = (nowMs: number) => number;

/** EventBridge `rate(N minutes)`. */
export function everyMinutes(minutes: number): NextFire {
  return (nowMs) => nowMs + minutes * 60_000;
}

/** EventBridge `cron(0 hour * * ? *)`: the next top of `hourUtc`, strictly after now. */
export function dailyAtHourUtc(hourUtc: number): NextFire {
  return (nowMs) => {
    const next = new Date(nowMs);
    next.setUTCHours(hourUtc, 0, 0, 0);
    if (next.getTime() <= nowMs) next.setUTCDate(next.getUTCDate() + 1);
    return next.getTime();
  };
}

/** The event an EventBridge rule sends to its target. */
export function scheduledEvent(ruleName: string, timeMs: number, region: string): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    // EventBridge stamps the scheduled minute, without milliseconds
    time: new Date(Math.floor(timeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT}:rule/${ruleName}`],
    detail: {},
  };
}

export interface ScheduleSpec {
  /** The function the rule targets (a key of the local function table). */
  functionName: string;
  ruleName: string;
  next: NextFire;
}

/**
 * The stack's three rules (infra/constructs/{token-refresher,reconciler,reporter}.ts) from the
 * `schedules` config section.
 */
export function stackSchedules(config: {
  refreshIntervalMinutes: number;
  reconcileIntervalMinutes: number;
  reportHourUtc: number;
}): ScheduleSpec[] {
  return [
    {
      functionName: 'token-refresher',
      ruleName: 'tallyfy-local-token-refresher',
      next: everyMinutes(config.refreshIntervalMinutes),
    },
    {
      functionName: 'reconciler',
      ruleName: 'tallyfy-local-reconciler',
      next: everyMinutes(config.reconcileIntervalMinutes),
    },
    {
      functionName: 'reporter',
      ruleName: 'tallyfy-local-reporter',
      next: dailyAtHourUtc(config.reportHourUtc),
    },
  ];
}

export interface Schedules {
  /** When each schedule fires next (ISO), for the start banner and local.json. */
  nextRuns(): Record<string, string>;
  /** Clears the timers and waits for runs in progress. */
  stop(): Promise<void>;
}

/**
 * Arms one timer per schedule. A run still in progress when its next tick comes is not
 * overlapped (the tick is skipped, as a reserved concurrency of 1 would do); a failed run is
 * reported through `onError` and the schedule keeps going.
 */
export function startSchedules(
  specs: readonly ScheduleSpec[],
  options: {
    run: (functionName: string, event: ScheduledEvent) => Promise<unknown>;
    region: string;
    clock: () => number;
    onError: (functionName: string, error: unknown) => void;
  },
): Schedules {
  const timers = new Map<string, NodeJS.Timeout>();
  const due = new Map<string, number>();
  const running = new Map<string, Promise<void>>();
  let stopped = false;

  const arm = (spec: ScheduleSpec) => {
    if (stopped) return;
    const at = spec.next(options.clock());
    due.set(spec.functionName, at);
    // Node timers hold at most ~24.8 days; the daily cron is well under that
    const timer = setTimeout(() => fire(spec, at), Math.max(0, at - options.clock()));
    timer.unref();
    timers.set(spec.functionName, timer);
  };

  const fire = (spec: ScheduleSpec, at: number) => {
    arm(spec);
    if (running.has(spec.functionName)) return;
    const run = options
      .run(spec.functionName, scheduledEvent(spec.ruleName, at, options.region))
      .then(
        () => undefined,
        (error: unknown) => options.onError(spec.functionName, error),
      )
      .finally(() => running.delete(spec.functionName));
    running.set(spec.functionName, run);
  };

  for (const spec of specs) arm(spec);

  return {
    nextRuns: () =>
      Object.fromEntries([...due].map(([name, at]) => [name, new Date(at).toISOString()])),
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await Promise.all(running.values());
    },
  };
}
