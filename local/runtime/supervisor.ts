/**
 * Keeps an engine process running (DynamoDB Local's Java): when it dies while local mode runs,
 * it is started again after a short delay, at most `maxRestarts` times in `windowMs`; beyond
 * that, or when it cannot start again, local mode gives up and stops (`onGiveUp`). While it is
 * down, `status()` says so, for /health and for refusing webhooks (503, never a 202 that the
 * seen marker or the worker could not honour).
 */
import { LocalModeError } from './errors.ts';

/** What the supervisor needs from a running process. */
export interface SupervisedProcess {
  readonly pid: number | undefined;
  /** Called once when the process exits. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  stop(): Promise<void>;
}

export type SupervisedState = 'up' | 'restarting' | 'failed' | 'stopped';

/** What /health and the log say about a supervised engine. */
export interface SupervisedStatus {
  name: string;
  state: SupervisedState;
  pid?: number | undefined;
  /** Restarts since local mode started. */
  restarts: number;
  /** When the state last changed (ISO). */
  since: string;
  /** The last unexpected exit. */
  lastExit?: { code: number | null; signal: string | null; at: string } | undefined;
  /** Why it failed for good, or why the last start attempt failed. */
  error?: string | undefined;
}

/** Options of {@link supervise}. */
export interface SuperviseOptions<P extends SupervisedProcess> {
  /** The engine's name in /health and logs, e.g. `dynamodb`. */
  name: string;
  /** Starts the process; called once at start and once per restart. */
  start(): Promise<P>;
  /**
   * Wait before the n-th restart within the window (the last value repeats).
   * @default [1000, 3000, 10000]
   */
  restartDelaysMs?: readonly number[];
  /** Restarts allowed within `windowMs`; one more death gives up. @default 3 */
  maxRestarts?: number;
  /** @default 600000 (10 minutes) */
  windowMs?: number;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** Every state change, for the log and /health. */
  onChange?: (status: SupervisedStatus) => void;
  /** Called once when it gives up; local mode stops then. */
  onGiveUp?: (error: Error) => void;
}

export interface Supervised<P extends SupervisedProcess> {
  /** The running process; `undefined` while it restarts or after it failed. */
  current(): P | undefined;
  status(): SupervisedStatus;
  /** Resolves once it is up (at once when it is); rejects when it failed for good or stopped. */
  whenUp(): Promise<void>;
  /** Stops the process and any restart to come. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a process and supervises it.
 * @throws whatever the first `start()` throws (nothing is supervised then)
 * @example
 * const ddb = await supervise({ name: 'dynamodb', start: () => startDynamoDbLocal({ dataDir, port }) });
 * ddb.status().state; // 'up'
 */
export async function supervise<P extends SupervisedProcess>(
  options: SuperviseOptions<P>,
): Promise<Supervised<P>> {
  const clock = options.clock ?? Date.now;
  const delays = options.restartDelaysMs ?? [1_000, 3_000, 10_000];
  const maxRestarts = options.maxRestarts ?? 3;
  const windowMs = options.windowMs ?? 600_000;
  let running: P | undefined = await options.start();
  let status: SupervisedStatus = {
    name: options.name,
    state: 'up',
    pid: running.pid,
    restarts: 0,
    since: new Date(clock()).toISOString(),
  };
  const recentRestarts: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  const change = (next: Partial<SupervisedStatus> & { state: SupervisedState }) => {
    status = { ...status, ...next, since: new Date(clock()).toISOString() };
    options.onChange?.({ ...status });
    if (status.state === 'up') {
      for (const w of waiters.splice(0)) w.resolve();
    } else if (status.state === 'failed' || status.state === 'stopped') {
      const error = new LocalModeError(
        'LOCAL_ENGINE_FAILED',
        `${options.name} is ${status.state}${status.error ? `: ${status.error}` : ''}`,
      );
      for (const w of waiters.splice(0)) w.reject(error);
    }
  };

  const giveUp = (reason: string) => {
    running = undefined;
    change({ state: 'failed', pid: undefined, error: reason });
    options.onGiveUp?.(new LocalModeError('LOCAL_ENGINE_FAILED', `${options.name} ${reason}`));
  };

  /** A death (or a failed restart): restart after a delay, unless it happens too often. */
  const scheduleRestart = () => {
    const now = clock();
    while (recentRestarts.length > 0 && (recentRestarts[0] ?? 0) <= now - windowMs) {
      recentRestarts.shift();
    }
    if (recentRestarts.length >= maxRestarts) {
      giveUp(
        `stopped ${recentRestarts.length + 1} times within ${Math.round(windowMs / 60_000)} minutes; not restarting it again`,
      );
      return;
    }
    recentRestarts.push(now);
    const delay = delays[Math.min(recentRestarts.length - 1, delays.length - 1)] ?? 1_000;
    timer = setTimeout(() => {
      timer = undefined;
      void restart();
    }, delay);
  };

  const restart = async () => {
    if (status.state !== 'restarting') return;
    try {
      const next = await options.start();
      if (status.state !== 'restarting') {
        // stopped while it started: do not leave it running
        await next.stop();
        return;
      }
      running = next;
      watch(next);
      change({ state: 'up', pid: next.pid, restarts: status.restarts + 1, error: undefined });
    } catch (error) {
      change({ state: 'restarting', error: `could not start again: ${(error as Error).message}` });
      scheduleRestart();
    }
  };

  const watch = (process: P) => {
    process.onExit((code, signal) => {
      if (running !== process || status.state !== 'up') return;
      running = undefined;
      change({
        state: 'restarting',
        pid: undefined,
        lastExit: { code, signal, at: new Date(clock()).toISOString() },
      });
      scheduleRestart();
    });
  };
  watch(running);

  return {
    current: () => running,
    status: () => ({ ...status }),
    whenUp() {
      if (status.state === 'up') return Promise.resolve();
      if (status.state === 'failed' || status.state === 'stopped') {
        return Promise.reject(
          new LocalModeError('LOCAL_ENGINE_FAILED', `${options.name} is ${status.state}`),
        );
      }
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    async stop() {
      if (status.state === 'stopped') return;
      if (timer) clearTimeout(timer);
      const last = running;
      running = undefined;
      change({ state: 'stopped', pid: undefined });
      waiters = [];
      await last?.stop();
    },
  };
}
