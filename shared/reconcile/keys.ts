/**
 * Which dedupe keys an event found through the API may have had when it came by webhook.
 *
 * The API answers times with milliseconds; webhooks carry them in the org's date setting: ISO
 * without milliseconds (`2026-11-19T10:42:13Z`) or `d/m/Y h:i A T`, which has no seconds. The
 * receiver keys on what the webhook says, so one completion can have three keys: the API time
 * cut to the second (ISO webhooks; Tallyfy stores whole seconds, so also the API time itself),
 * the exact API time (should Tallyfy ever send milliseconds), and the time cut to the minute
 * (localized webhooks). The reconciler looks all of them up and enqueues under the key a
 * webhook of that org would have had.
 */
import { dedupeKeyFor, type EventType } from '../events/index.ts';

/** The org's webhook date setting (org `settings.webhookDateFormat`). */
export type WebhookDateFormat = 'iso' | 'human';

export interface EventKeys {
  /** The key to enqueue under (what this org's webhook would have produced). */
  primary: string;
  /** The event time `primary` encodes (ISO UTC, ms = 000). */
  occurredAt: string;
  /** Every key the same event may be known by, `primary` first. */
  candidates: string[];
  /** The event time (ISO, ms) each candidate key encodes. */
  timeOf: ReadonlyMap<string, string>;
}

/**
 * @example
 * eventKeys('task.completed', 't1', '2026-11-19T10:42:13.456Z', 'iso');
 * // { primary: 'task.completed:t1:2026-11-19T10:42:13.000Z', occurredAt: '…13.000Z',
 * //   candidates: ['…:13.000Z', '…:13.456Z', '…:10:42:00.000Z'] }
 */
export function eventKeys(
  type: EventType,
  subjectId: string,
  apiTime: string,
  format: WebhookDateFormat = 'iso',
): EventKeys {
  const ms = Date.parse(apiTime);
  if (Number.isNaN(ms)) throw new RangeError(`eventKeys: ${apiTime} is not a time`);
  const second = Math.floor(ms / 1000) * 1000;
  const minute = Math.floor(ms / 60_000) * 60_000;
  const key = (at: number) => dedupeKeyFor({ type, subjectId, occurredAt: at });
  const primaryAt = format === 'human' ? minute : second;
  const timeOf = new Map<string, string>();
  for (const at of [primaryAt, second, ms, minute]) {
    if (!timeOf.has(key(at))) timeOf.set(key(at), new Date(at).toISOString());
  }
  return {
    primary: key(primaryAt),
    occurredAt: new Date(primaryAt).toISOString(),
    candidates: [...timeOf.keys()],
    timeOf,
  };
}

/** The org's webhook date setting from its `settings` map (`iso` unless it says `human`). */
export function webhookDateFormatOf(
  settings: Readonly<Record<string, unknown>> | undefined,
): WebhookDateFormat {
  return settings?.webhookDateFormat === 'human' ? 'human' : 'iso';
}
