/**
 * Paces replays per org so a replay never sends an org's events faster than its Tallyfy budget
 * (`TALLYFY_REQUESTS_PER_MINUTE`): each replayed event costs the worker at least one Tallyfy
 * call, so at most that many events per minute per org are re-sent, evenly spaced (no burst).
 * Different orgs do not wait for each other. Clock and sleep are injected: tests pace without
 * sleeping.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Decides when the next replay of an org may go. */
export interface ReplayPacer {
  /** Resolves when one more event of `orgId` may be re-sent (and reserves that slot). */
  wait(orgId: string): Promise<void>;
  /** The spacing between two events of one org, in ms. */
  readonly intervalMs: number;
}

/** Options of {@link createReplayPacer}. */
export interface ReplayPacerOptions {
  /** Events per minute per org (TALLYFY_REQUESTS_PER_MINUTE), 1–10000. */
  requestsPerMinute: number;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** Waits `ms`. @default timers/promises setTimeout */
  sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Even spacing of `ceil(60000 / requestsPerMinute)` ms per org: in any minute at most
 * `requestsPerMinute` events of one org are re-sent.
 *
 * @example
 * const pacer = createReplayPacer({ requestsPerMinute: config.tallyfy.requestsPerMinute });
 * await pacer.wait(letter.orgId); // then send
 */
export function createReplayPacer(options: ReplayPacerOptions): ReplayPacer {
  const { requestsPerMinute } = options;
  if (!Number.isInteger(requestsPerMinute) || requestsPerMinute < 1 || requestsPerMinute > 10_000) {
    throw new RangeError(
      `createReplayPacer: requestsPerMinute must be a whole number from 1 to 10000, got ${requestsPerMinute}`,
    );
  }
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  // whole ms, rounded up: n slots never fit in less than a minute (7/min would otherwise put
  // an 8th event at 59,999.99… ms)
  const intervalMs = Math.ceil(60_000 / requestsPerMinute);
  const nextSlot = new Map<string, number>();
  return {
    intervalMs,
    async wait(orgId) {
      const now = clock();
      const at = Math.max(now, nextSlot.get(orgId) ?? now);
      // reserve before waiting, so two callers for one org never share a slot
      nextSlot.set(orgId, at + intervalMs);
      if (at > now) await sleep(at - now);
    },
  };
}

/** Estimated time a paced replay takes: the busiest org's letters at its spacing. */
export function estimateReplayMs(countsByOrg: Iterable<number>, intervalMs: number): number {
  let most = 0;
  for (const count of countsByOrg) most = Math.max(most, count);
  return Math.max(0, most - 1) * intervalMs;
}
