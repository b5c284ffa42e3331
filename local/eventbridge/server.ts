import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson, startLocalServer } from '../http.ts';
import {
  type Journal,
  type JournalSpec,
  loadJournal,
  openJournal,
  type SalvageReport,
} from '../persistence/index.ts';

/** One event as the local bus stores it: the shape EventBridge delivers to targets. */
export interface LocalBusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601 (the entry's `Time`, else when it was put). */
  time: string;
  region: string;
  resources: string[];
  /** The bus name (or ARN) the entry named; `default` when none. */
  eventBusName: string;
  detail: unknown;
}

/** Options of {@link startLocalEventBridge}. */
export interface LocalEventBridgeOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /**
   * Append every event as one JSON line (fsynced before PutEvents answers); events already in
   * it are loaded at start, and a damaged file is salvaged line by line. @default memory only
   */
  dataFile?: string;
  /** Buses that exist; an entry for another bus fails with `ResourceNotFoundException`. @default any bus */
  buses?: readonly string[];
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
}

export interface LocalEventBridge {
  /** `http://127.0.0.1:<port>`, for the SDK client's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** Every event put (and loaded from `dataFile`), oldest first. */
  readonly events: readonly LocalBusEvent[];
  /** A damaged data file found at start: what was kept aside, kept and lost. */
  readonly salvage: readonly SalvageReport[];
  /** Calls `listener` for each event put from now on; returns the unsubscribe function. */
  subscribe(listener: (event: LocalBusEvent) => void): () => void;
  /** The next `count` PutEvents calls answer 500 (the SDK retries them). @default 1 */
  injectFault(count?: number): void;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 262_144;

/**
 * Starts an EventBridge endpoint on loopback that speaks `AWSEvents.PutEvents` (AWS JSON 1.1),
 * so `createEventBridgeBus` runs unchanged in tests and local mode. Checks what EventBridge
 * checks per entry (Source, DetailType, Detail as a JSON object, 256 KiB per request) and
 * answers per-entry errors the way EventBridge does (`FailedEntryCount` + `ErrorCode`).
 *
 * @example
 * const bus = await startLocalEventBridge({ dataFile: '.data/events.jsonl' });
 * const stop = bus.subscribe((event) => console.log(event['detail-type']));
 */
export async function startLocalEventBridge(
  options: LocalEventBridgeOptions = {},
): Promise<LocalEventBridge> {
  const clock = options.clock ?? Date.now;
  const region = options.region ?? 'us-east-1';
  const account = options.accountId ?? '000000000000';
  const buses = options.buses === undefined ? undefined : new Set(options.buses);
  const events: LocalBusEvent[] = [];
  const salvage: SalvageReport[] = [];
  let journal: Journal<LocalBusEvent> | undefined;
  if (options.dataFile !== undefined) {
    const spec = busLogSpec(options.dataFile);
    const loaded = await loadJournal(spec, clock());
    events.push(...loaded.records);
    if (loaded.salvage) salvage.push(loaded.salvage);
    // the bus log is a history, not a state: never rewritten
    journal = await openJournal(spec, {
      snapshot: () => events,
      compactOnOpen: false,
      compaction: { minBytes: Number.POSITIVE_INFINITY },
    });
  }
  const listeners = new Set<(event: LocalBusEvent) => void>();
  let faults = 0;

  const busNameOf = (value: unknown): string => {
    if (typeof value !== 'string' || value === '') return 'default';
    return value.startsWith('arn:') ? (value.split('/').at(-1) ?? value) : value;
  };

  const putEvents = (input: Record<string, unknown>) => {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new EventBridgeFault(
        'ValidationException',
        `Entries must hold 1 to ${MAX_ENTRIES} entries.`,
      );
    }
    const accepted: LocalBusEvent[] = [];
    const results = entries.map((raw: Record<string, unknown>) => {
      const bus = busNameOf(raw?.EventBusName);
      if (buses !== undefined && !buses.has(bus)) {
        return { ErrorCode: 'NotFoundException', ErrorMessage: `Event bus ${bus} does not exist.` };
      }
      if (typeof raw?.Source !== 'string' || raw.Source === '') {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid.' };
      }
      if (typeof raw.DetailType !== 'string' || raw.DetailType === '') {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid.' };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(String(raw.Detail));
      } catch {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
      }
      // the JSON protocols send timestamps as epoch seconds
      const time = typeof raw.Time === 'number' ? new Date(raw.Time * 1000) : new Date(clock());
      const event: LocalBusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': raw.DetailType,
        source: raw.Source,
        account,
        time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region,
        resources: Array.isArray(raw.Resources) ? raw.Resources.map(String) : [],
        eventBusName: bus,
        detail,
      };
      accepted.push(event);
      return { EventId: event.id };
    });
    return {
      accepted,
      output: {
        FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
        Entries: results,
      },
    };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const reply = (status: number, body: unknown, type?: string) =>
      sendJson(response, status, body, {
        'content-type': CONTENT_TYPE,
        'x-amzn-requestid': randomUUID(),
        ...(type ? { 'x-amzn-errortype': type } : {}),
      });
    try {
      // the request JSON wraps entries in some overhead: allow for it above the entries' own limit
      const body = await readBody(request, MAX_REQUEST_BYTES * 2);
      if (request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        throw new EventBridgeFault(
          'UnknownOperationException',
          'Only AWSEvents.PutEvents is served.',
        );
      }
      if (faults > 0) {
        faults -= 1;
        return reply(500, { __type: 'InternalException', message: 'Injected fault.' });
      }
      if (body === undefined) {
        throw new EventBridgeFault(
          'ValidationException',
          'Total size of the entries exceeds 256 KiB.',
        );
      }
      const { accepted, output } = putEvents(JSON.parse(body.toString('utf8')));
      // stored before the answer: an acknowledged event is on the bus log
      await journal?.append(accepted);
      events.push(...accepted);
      for (const event of accepted) for (const listener of listeners) listener(event);
      reply(200, output);
    } catch (error) {
      if (!(error instanceof EventBridgeFault)) throw error;
      reply(400, { __type: error.type, message: error.message }, error.type);
    }
  };
  const local = await startLocalServer(handle, {
    port: options.port,
    // a failed append or a listener's bug: answer 500 (the SDK retries it) and keep serving
    failureAnswer: () => ({
      status: 500,
      body: { __type: 'InternalException', message: 'unexpected failure' },
      headers: { 'content-type': CONTENT_TYPE },
    }),
  });
  return {
    endpoint: local.origin,
    port: local.port,
    events,
    salvage,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    injectFault(count = 1) {
      faults += count;
    },
    async close() {
      await local.close();
      await journal?.close();
    },
  };
}

/** A request EventBridge refuses; `type` is its error code (`__type`, `x-amzn-errortype`). */
export class EventBridgeFault extends Error {
  override readonly name = 'EventBridgeFault';
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** `events.jsonl`: one event per line, no header (people read it line by line). */
function busLogSpec(file: string): JournalSpec<LocalBusEvent> {
  return {
    file,
    kind: null,
    parse: (value) => {
      const event = value as Partial<LocalBusEvent> | null;
      const valid =
        typeof event?.id === 'string' &&
        typeof event['detail-type'] === 'string' &&
        typeof event.source === 'string' &&
        typeof event.time === 'string' &&
        typeof event.detail === 'object' &&
        event.detail !== null;
      return valid ? (event as LocalBusEvent) : undefined;
    },
  };
}
