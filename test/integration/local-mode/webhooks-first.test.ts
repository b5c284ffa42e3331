/**
 * The worker's wait for a busy receiver (local/runtime/webhooks-first.ts), on a virtual clock:
 * `sleep` moves it, and the test says how many webhooks are in flight at each moment.
 */
import { describe, expect, test } from 'vitest';
import { webhooksFirst } from '../../../local/runtime/webhooks-first.ts';

/** A clock that only `sleep` moves, and webhooks in flight as a function of its time. */
function virtualReceiver(inFlightAt: (ms: number) => number) {
  let now = 0;
  return {
    now: () => now,
    options: {
      webhooksInFlight: () => inFlightAt(now),
      clock: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
      quietMs: 250,
      maxWaitMs: 30_000,
      pollMs: 20,
    },
  };
}

describe('webhooks first', () => {
  test('an idle receiver costs the worker no wait', async () => {
    const receiver = virtualReceiver(() => 0);
    const wait = webhooksFirst(receiver.options);
    await wait();
    await wait();
    expect(receiver.now()).toBe(0);
  });

  test('a busy receiver holds the worker until it has been quiet for quietMs', async () => {
    // 50 in flight for 2 s, a 100 ms lull, busy again until 5 s
    const receiver = virtualReceiver((ms) => (ms < 2_000 || (ms >= 2_100 && ms < 5_000) ? 50 : 0));
    await webhooksFirst(receiver.options)();
    // the last busy sighting is within one poll of 5 s; then 250 ms of quiet
    expect(receiver.now()).toBeGreaterThanOrEqual(5_000 - 20 + 250);
    expect(receiver.now()).toBeLessThanOrEqual(5_000 + 250 + 20);
  });

  test('a few webhooks in flight do not count as busy', async () => {
    const receiver = virtualReceiver(() => 3);
    await webhooksFirst(receiver.options)();
    expect(receiver.now()).toBe(0);
  });

  test('under an endless flood the worker still goes on after maxWaitMs', async () => {
    const receiver = virtualReceiver(() => 50);
    const wait = webhooksFirst(receiver.options);
    await wait();
    expect(receiver.now()).toBe(30_000);
    await wait();
    expect(receiver.now()).toBe(60_000);
  });

  test('it remembers a busy receiver between waits: a batch taken in a lull waits after it', async () => {
    let flood = true;
    const receiver = virtualReceiver(() => (flood ? 50 : 0));
    const wait = webhooksFirst(receiver.options);
    await wait();
    flood = false;
    // right after the flood, the receiver has not been quiet for long yet
    const before = receiver.now();
    await wait();
    expect(receiver.now() - before).toBe(260);
  });
});
