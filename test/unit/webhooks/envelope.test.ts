import { describe, expect, test } from 'vitest';
import {
  bodyDedupeKey,
  createEnvelope,
  dedupeKeyFor,
  detailTypeFor,
  EnvelopeInvalidError,
  eventBridgeEntryBytes,
  MessageTooLargeError,
  memoryEventQueue,
  parseEnvelope,
  serializeEnvelope,
  toEventBridgeEntry,
} from '../../../shared/events/index.ts';

const base = {
  orgId: 'org1',
  type: 'task.completed' as const,
  subjectId: 't1',
  occurredAt: '2026-11-19T10:42:13Z',
  receivedAtMs: Date.UTC(2026, 10, 19, 10, 42, 14),
  origin: 'reconciler' as const,
  data: { this_task: { id: 't1' } },
};

describe('dedupe keys', () => {
  test('one instant written four ways gives one key', () => {
    const keys = [
      '2026-11-19T10:42:13Z',
      '2026-11-19T10:42:13.000Z',
      '2026-11-19T12:42:13+02:00',
      Date.UTC(2026, 10, 19, 10, 42, 13),
    ].map((occurredAt) => dedupeKeyFor({ type: 'task.completed', subjectId: 't1', occurredAt }));
    expect(new Set(keys)).toEqual(new Set(['task.completed:t1:2026-11-19T10:42:13.000Z']));
  });

  test('type, subject and time each change the key', () => {
    const key = (type: 'task.completed' | 'process.completed', subjectId: string, at: string) =>
      dedupeKeyFor({ type, subjectId, occurredAt: at });
    const a = key('task.completed', 't1', '2026-11-19T10:42:13Z');
    expect(key('process.completed', 't1', '2026-11-19T10:42:13Z')).not.toBe(a);
    expect(key('task.completed', 't2', '2026-11-19T10:42:13Z')).not.toBe(a);
    expect(key('task.completed', 't1', '2026-11-19T10:42:14Z')).not.toBe(a);
  });

  test('an invalid time or an empty subject is refused', () => {
    expect(() => dedupeKeyFor({ type: 'unknown', subjectId: 't', occurredAt: 'soon' })).toThrow(
      RangeError,
    );
    expect(() => dedupeKeyFor({ type: 'unknown', subjectId: '', occurredAt: 0 })).toThrow(
      RangeError,
    );
  });

  test('body keys differ between orgs for the same bytes and agree for string and bytes', () => {
    const a = bodyDedupeKey({ type: 'unknown', orgId: 'org1', body: '{}' });
    expect(bodyDedupeKey({ type: 'unknown', orgId: 'org2', body: '{}' })).not.toBe(a);
    expect(bodyDedupeKey({ type: 'unknown', orgId: 'org1', body: Buffer.from('{}') })).toBe(a);
  });
});

describe('envelopes', () => {
  test('the reconciler builds the same id the receiver does for the same completion', () => {
    const envelope = createEnvelope(base);
    expect(envelope).toEqual({
      specversion: '1.0',
      id: 'task.completed:t1:2026-11-19T10:42:13.000Z',
      source: 'tallyfy/org1',
      type: 'task.completed',
      subject: 't1',
      time: '2026-11-19T10:42:13.000Z',
      receivedAt: '2026-11-19T10:42:14.000Z',
      orgId: 'org1',
      origin: 'reconciler',
      data: base.data,
    });
    expect(parseEnvelope(serializeEnvelope(envelope))).toEqual(envelope);
  });

  test('without a time the id is a body hash and the time is the receive time', () => {
    const envelope = createEnvelope({ ...base, occurredAt: undefined });
    expect(envelope.id).toMatch(/^task\.completed:sha256:[0-9a-f]{64}$/);
    expect(envelope.time).toBe(envelope.receivedAt);
  });

  test.each([
    ['not JSON', 'nope'],
    ['a source of another org', { source: 'tallyfy/org2' }],
    ['both data and dataref', { dataref: 'webhooks/x.json' }],
    ['neither data nor dataref', { data: undefined }],
    ['a non-UTC time', { time: '2026-11-19T10:42:13+02:00' }],
    ['an unknown type', { type: 'task.deleted' }],
  ])('parseEnvelope refuses %s', (_label, change) => {
    const body =
      typeof change === 'string' ? change : JSON.stringify({ ...createEnvelope(base), ...change });
    expect(() => parseEnvelope(body)).toThrow(EnvelopeInvalidError);
  });

  test('parseEnvelope drops keys it does not know (a newer producer)', () => {
    const body = JSON.stringify({ ...createEnvelope(base), traceparent: '00-abc' });
    expect(parseEnvelope(body)).not.toHaveProperty('traceparent');
  });
});

describe('serializing with the received JSON text', () => {
  const json =
    '{ "this_task": {"id": "t1", "title": "Approve \\u00e9", "n": [1, 2.5e3]},\n "x": null }';

  test('splices the text in: the same envelope as serializing the parsed data', () => {
    const data = JSON.parse(json) as unknown;
    const spliced = serializeEnvelope(createEnvelope({ ...base, data, dataJson: json }));
    const plain = serializeEnvelope(createEnvelope({ ...base, data }));
    expect(spliced).not.toBe(plain); // the text was used, whitespace and escapes included
    expect(spliced).toContain(json);
    expect(JSON.parse(spliced)).toEqual(JSON.parse(plain));
    expect(parseEnvelope(spliced)).toEqual(parseEnvelope(plain));
  });

  test('falls back to serializing data once data is replaced or the envelope copied', () => {
    const envelope = createEnvelope({ ...base, data: JSON.parse(json), dataJson: json });
    const copy = { ...envelope, data: { other: true } };
    expect(JSON.parse(serializeEnvelope(copy)).data).toEqual({ other: true });
    envelope.data = { replaced: 1 };
    expect(JSON.parse(serializeEnvelope(envelope)).data).toEqual({ replaced: 1 });
  });
});

describe('EventBridge mapping', () => {
  test.each([
    ['task.completed', 'Task Completed'],
    ['process.launched', 'Process Launched'],
    ['task.comment_added', 'Task Comment Added'],
    ['unknown', 'Unknown'],
  ] as const)('%s becomes detail-type %s', (type, detailType) => {
    expect(detailTypeFor(type)).toBe(detailType);
  });

  test('an entry has source tallyfy, the envelope as detail and the event time', () => {
    const envelope = createEnvelope(base);
    const entry = toEventBridgeEntry(envelope, 'tallyfy-bus');
    expect(entry).toEqual({
      EventBusName: 'tallyfy-bus',
      Source: 'tallyfy',
      DetailType: 'Task Completed',
      Detail: serializeEnvelope(envelope),
      Time: new Date('2026-11-19T10:42:13.000Z'),
    });
    expect(eventBridgeEntryBytes(entry)).toBe(
      'tallyfy'.length + 'Task Completed'.length + Buffer.byteLength(entry.Detail ?? '') + 14,
    );
  });
});

describe('memory queue', () => {
  test('refuses a message over its limit as SQS would, storing nothing', async () => {
    const queue = memoryEventQueue({ maxMessageBytes: 200 });
    await expect(queue.send(createEnvelope(base))).rejects.toThrow(MessageTooLargeError);
    expect(queue.messages).toHaveLength(0);
  });
});
