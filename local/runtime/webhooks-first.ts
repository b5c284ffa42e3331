/**
 * Webhooks first: in local mode the receiver and the worker share one process, two cores at
 * most, and one DynamoDB Local. A webhook not yet answered can be lost (Tallyfy sends it once,
 * with a 5 s timeout); an event in the queue waits safely. So while the receiver is busy, the
 * worker waits before its next batch. (In AWS the two scale apart.)
 */
import { sleep as realSleep } from '../../shared/async.ts';

/** Options of {@link webhooksFirst}. */
export interface WebhooksFirstOptions {
  /** Webhook requests being handled now. */
  webhooksInFlight: () => number;
  /** Webhooks in flight from which the receiver counts as busy. @default 4 */
  busyFrom?: number;
  /**
   * How long the receiver must have stayed below `busyFrom` before the worker goes on: the
   * lulls inside a burst (between two senders' waves) do not let a batch in. @default 250
   */
  quietMs?: number;
  /**
   * The longest one wait lasts: under an endless flood the worker still takes a batch this
   * often. @default 30000
   */
  maxWaitMs?: number;
  /** How often the receiver is looked at while waiting. @default 20 */
  pollMs?: number;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** @default a timer */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The wait the worker's poller makes before each batch (its `whenReady`): none while the
 * receiver has been quiet for `quietMs`, else until it has, or for `maxWaitMs` at most. It
 * remembers when it last saw the receiver busy, so an idle receiver costs the worker nothing.
 *
 * @example
 * const yieldToWebhooks = webhooksFirst({ webhooksInFlight: () => http.webhooksInFlight() });
 * startSqsEventSource({ …, whenReady: yieldToWebhooks });
 */
export function webhooksFirst(options: WebhooksFirstOptions): () => Promise<void> {
  const busyFrom = options.busyFrom ?? 4;
  const quietMs = options.quietMs ?? 250;
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const pollMs = options.pollMs ?? 20;
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  let busyAt = Number.NEGATIVE_INFINITY;
  return async () => {
    const deadline = clock() + maxWaitMs;
    for (;;) {
      const now = clock();
      if (options.webhooksInFlight() >= busyFrom) busyAt = now;
      if (now - busyAt >= quietMs || now >= deadline) return;
      await sleep(pollMs);
    }
  };
}
