/**
 * What the local AWS endpoints that speak the AWS JSON protocols (Secrets Manager 1.1, SQS 1.0)
 * share: the operation named by `X-Amz-Target`, the JSON object body, the engine options every
 * one of them takes, and a queue of injected faults.
 */
import type { IncomingMessage } from 'node:http';

/** The operation of `X-Amz-Target: <prefix><Operation>`, or `''` when there is none. */
export function targetOperation(request: IncomingMessage, prefix: string): string {
  const target = request.headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith(prefix) ? target.slice(prefix.length) : '';
}

/** The body as a JSON object (`{}` when empty), or `undefined` when it is not one. */
export function jsonObjectBody(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    // not JSON: the caller answers SerializationException, as AWS does
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

/** The engine settings every local AWS endpoint takes. */
export interface EngineIdentity {
  /** Epoch ms. @default Date.now */
  clock?: (() => number) | undefined;
  /** @default 'us-east-1' */
  region?: string | undefined;
  /** @default '000000000000' */
  accountId?: string | undefined;
}

/** The settings given, without the ones left out (the engine fills in its defaults). */
export function engineIdentity(options: EngineIdentity): {
  clock?: () => number;
  region?: string;
  accountId?: string;
} {
  return {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.accountId ? { accountId: options.accountId } : {}),
  };
}

/** What an endpoint counts: requests (by operation) and injected faults answered. */
export interface EndpointStats {
  requests: number;
  /** By operation name (`(none)` without one), injected faults included. */
  byOperation: Record<string, number>;
  faults: number;
}

/** Counts one request of `operation`. */
export function countRequest(stats: EndpointStats, operation: string): void {
  const name = operation || '(none)';
  stats.requests += 1;
  stats.byOperation[name] = (stats.byOperation[name] ?? 0) + 1;
}

/** An injected fault waiting for the calls it matches. */
interface Pending<K> {
  kind: K;
  remaining: number;
  matches: (call: string, scope: string | undefined) => boolean;
}

/**
 * Faults injected into a local endpoint: each answers the next `count` calls it matches (by
 * operation, and by a scope such as a queue name), in the order they were injected.
 *
 * @example
 * const faults = new FaultQueue<'reset'>(() => stats);
 * faults.add('reset', { count: 2, operations: ['SendMessage'] });
 * faults.take('SendMessage'); // 'reset'
 */
export class FaultQueue<K> {
  #pending: Pending<K>[] = [];
  readonly #stats: () => EndpointStats;

  /** `stats` gets each fault taken counted in its `faults`. */
  constructor(stats: () => EndpointStats) {
    this.#stats = stats;
  }

  add(
    kind: K,
    options: {
      count?: number | undefined;
      operations?: readonly string[] | undefined;
      scope?: string | undefined;
    },
  ): void {
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`injectFault: count must be a positive integer, got ${count}`);
    }
    const operations = options.operations ? new Set(options.operations) : undefined;
    const { scope } = options;
    this.#pending.push({
      kind,
      remaining: count,
      matches: (call, callScope) =>
        (operations === undefined || operations.has(call)) &&
        (scope === undefined || scope === callScope),
    });
  }

  /** The kind of the first fault matching this call, counted as used; `undefined` for none. */
  take(operation: string, scope?: string): K | undefined {
    const fault = this.#pending.find((f) => f.matches(operation, scope));
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#pending = this.#pending.filter((f) => f !== fault);
    this.#stats().faults += 1;
    return fault.kind;
  }

  clear(): void {
    this.#pending = [];
  }
}

/**
 * The answer of an AWS JSON endpoint whose handler failed (an engine bug, a failed save): a
 * 500 of error type `type`, which the SDK retries. The message is the error's own (engines
 * never put a secret value in one).
 */
export function internalFailure(type: string, contentType: string) {
  return (error: unknown) => ({
    status: 500,
    body: { __type: type, message: error instanceof Error ? error.message : 'unexpected failure' },
    headers: { 'content-type': contentType },
  });
}
