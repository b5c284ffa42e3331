import type { SandboxStats, WebhookDelivery } from './types.ts';

export interface Outgoing {
  orgId: string;
  event: string;
  target: WebhookDelivery['target'];
  url: string;
  body: unknown;
}

/**
 * Sends webhooks as Tallyfy does: one POST per event and URL, JSON, `X-Tallyfy-orgID`,
 * no signature, one attempt with a timeout, no retry. Switched off, events are dropped (as
 * lost webhooks are) but counted as suppressed.
 */
export class WebhookDispatcher {
  enabled: boolean;
  readonly #timeoutMs: number;
  readonly #stats: SandboxStats;
  readonly #clock: () => number;
  readonly #pending = new Set<Promise<void>>();
  readonly #beforeDelivery: (() => Promise<void>) | undefined;
  readonly deliveries: WebhookDelivery[] = [];

  constructor(options: {
    enabled: boolean;
    timeoutMs: number;
    stats: SandboxStats;
    clock: () => number;
    /** Awaited before each delivery: the change a webhook announces is stored first. */
    beforeDelivery?: (() => Promise<void>) | undefined;
  }) {
    this.enabled = options.enabled;
    this.#timeoutMs = options.timeoutMs;
    this.#stats = options.stats;
    this.#clock = options.clock;
    this.#beforeDelivery = options.beforeDelivery;
  }

  /** Starts the deliveries; the returned promise settles when all of them have. */
  send(events: readonly Outgoing[]): Promise<void> {
    if (!this.enabled) {
      this.#stats.webhooksSuppressed += events.length;
      return Promise.resolve();
    }
    const all = Promise.all(events.map((event) => this.#track(this.#deliver(event)))).then(
      () => undefined,
    );
    return all;
  }

  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #track(p: Promise<void>): Promise<void> {
    this.#pending.add(p);
    return p.finally(() => this.#pending.delete(p));
  }

  async #deliver(event: Outgoing): Promise<void> {
    let status: number | null = null;
    let ok = false;
    try {
      await this.#beforeDelivery?.();
      const response = await fetch(event.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tallyfy-orgid': event.orgId },
        body: JSON.stringify(event.body),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
      });
      status = response.status;
      ok = response.ok;
      // the status is the delivery's outcome; a body cut short changes nothing
      await response.arrayBuffer().catch(() => undefined);
    } catch {
      // a network error or timeout is a failed delivery; Tallyfy does not retry either
      ok = false;
    }
    if (ok) this.#stats.webhooksSent++;
    else this.#stats.webhooksFailed++;
    this.deliveries.push({
      orgId: event.orgId,
      event: event.event,
      target: event.target,
      ok,
      status,
      at: new Date(this.#clock()).toISOString(),
    });
  }
}
