import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { type EventEnvelope, type EventType, serializeEnvelope } from './envelope.ts';
import { BusPublishError, MessageTooLargeError } from './errors.ts';
import type { EventBus } from './ports.ts';

/** `source` of every event we put on EventBridge (rules match on it). */
export const EVENTBRIDGE_SOURCE = 'tallyfy';

/** EventBridge's limit for one entry (and for one PutEvents call). */
export const EVENTBRIDGE_MAX_ENTRY_BYTES = 262_144;

/** Entries per PutEvents call (an EventBridge limit). */
const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * The `detail-type` of an event type: words capitalised, `.` and `_` as spaces.
 *
 * @example
 * detailTypeFor('task.completed');     // 'Task Completed'
 * detailTypeFor('task.comment_added'); // 'Task Comment Added'
 * detailTypeFor('unknown');            // 'Unknown'
 */
export function detailTypeFor(type: EventType): string {
  return type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

/**
 * The PutEvents entry of an envelope: source `tallyfy`, detail-type from the type, detail =
 * the envelope, time = when the event happened.
 *
 * @example
 * await eventBridge.send(new PutEventsCommand({ Entries: [toEventBridgeEntry(envelope, busName)] }));
 */
export function toEventBridgeEntry(
  envelope: EventEnvelope,
  eventBusName: string,
): PutEventsRequestEntry {
  return {
    EventBusName: eventBusName,
    Source: EVENTBRIDGE_SOURCE,
    DetailType: detailTypeFor(envelope.type),
    Detail: serializeEnvelope(envelope),
    Time: new Date(envelope.time),
  };
}

/** Bytes EventBridge counts for an entry (Source, DetailType, Detail, Resources, 14 for Time). */
export function eventBridgeEntryBytes(entry: PutEventsRequestEntry): number {
  let bytes = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) bytes += Buffer.byteLength(text, 'utf8');
  }
  return bytes;
}

/** Options of {@link createEventBridgeBus}. */
export interface EventBridgeBusOptions {
  /** A client created once at module scope. */
  client: EventBridgeClient;
  /** `EVENT_BUS_NAME`. */
  eventBusName: string;
}

/**
 * {@link EventBus} over EventBridge PutEvents, 10 entries per call. Entries EventBridge refuses
 * (`FailedEntryCount`) are reported, never dropped: the call rejects with a
 * {@link BusPublishError} after trying every chunk.
 *
 * @throws MessageTooLargeError before any call when an entry exceeds 256 KiB
 */
export function createEventBridgeBus(options: EventBridgeBusOptions): EventBus {
  const { client, eventBusName } = options;
  return {
    async publish(envelopes) {
      const entries = envelopes.map((envelope) => {
        const entry = toEventBridgeEntry(envelope, eventBusName);
        const bytes = eventBridgeEntryBytes(entry);
        if (bytes > EVENTBRIDGE_MAX_ENTRY_BYTES) {
          throw new MessageTooLargeError(
            'the EventBridge entry',
            envelope.id,
            bytes,
            EVENTBRIDGE_MAX_ENTRY_BYTES,
          );
        }
        return { envelope, entry, bytes };
      });
      const failedIds: string[] = [];
      const causes: unknown[] = [];
      for (let start = 0; start < entries.length; ) {
        // a call is limited to 10 entries and 256 KiB in all
        const chunk: typeof entries = [];
        let bytes = 0;
        while (start < entries.length && chunk.length < PUT_EVENTS_MAX_ENTRIES) {
          const next = entries[start] as (typeof entries)[number];
          if (chunk.length > 0 && bytes + next.bytes > EVENTBRIDGE_MAX_ENTRY_BYTES) break;
          chunk.push(next);
          bytes += next.bytes;
          start++;
        }
        try {
          const result = await client.send(
            new PutEventsCommand({ Entries: chunk.map((item) => item.entry) }),
          );
          (result.Entries ?? []).forEach((resultEntry, i) => {
            if (resultEntry.ErrorCode !== undefined) {
              failedIds.push(chunk[i]?.envelope.id ?? `entry ${i}`);
              causes.push(`${resultEntry.ErrorCode}: ${resultEntry.ErrorMessage ?? ''}`);
            }
          });
        } catch (error) {
          failedIds.push(...chunk.map((item) => item.envelope.id));
          causes.push(error);
        }
      }
      if (failedIds.length > 0) {
        throw new BusPublishError(
          `EventBridge did not accept ${failedIds.length} of ${envelopes.length} events`,
          failedIds,
          { cause: causes.length === 1 ? causes[0] : new AggregateError(causes) },
        );
      }
    },
  };
}
