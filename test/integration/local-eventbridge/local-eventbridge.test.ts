import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalBusEvent, startLocalEventBridge } from '../../../local/eventbridge/index.ts';
import {
  BusPublishError,
  createEnvelope,
  createEventBridgeBus,
} from '../../../shared/events/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-eb-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const clientFor = (endpoint: string) =>
  new EventBridgeClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

const envelope = createEnvelope({
  orgId: 'org1',
  type: 'task.completed',
  subjectId: 't1',
  occurredAt: '2026-11-19T10:42:13Z',
  receivedAtMs: Date.parse('2026-11-19T10:42:14Z'),
  origin: 'webhook',
  data: { this_task: { id: 't1' } },
});

describe('local EventBridge through @aws-sdk/client-eventbridge', () => {
  test('PutEvents from the production bus adapter: kept, appended to JSONL, told to subscribers', async () => {
    const dataFile = join(dir, 'events.jsonl');
    const bus = await startLocalEventBridge({ dataFile, buses: ['tallyfy'] });
    const client = clientFor(bus.endpoint);
    const heard: LocalBusEvent[] = [];
    const unsubscribe = bus.subscribe((event) => heard.push(event));

    await createEventBridgeBus({ client, eventBusName: 'tallyfy' }).publish([envelope]);

    expect(bus.events).toHaveLength(1);
    expect(heard).toEqual(bus.events);
    expect(bus.events[0]).toMatchObject({
      source: 'tallyfy',
      'detail-type': 'Task Completed',
      eventBusName: 'tallyfy',
      time: '2026-11-19T10:42:13Z',
      detail: envelope,
    });
    const lines = (await readFile(dataFile, 'utf8')).trim().split('\n');
    expect(JSON.parse(lines[0] ?? '')).toEqual(bus.events[0]);
    unsubscribe();
    client.destroy();
    await bus.close();

    const reopened = await startLocalEventBridge({ dataFile });
    expect(reopened.events).toHaveLength(1);
    await reopened.close();
  });

  test('per-entry errors as EventBridge reports them; the adapter names the refused events', async () => {
    const bus = await startLocalEventBridge({ buses: ['tallyfy'] });
    const client = clientFor(bus.endpoint);
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'tallyfy', Source: 's', DetailType: 'd', Detail: 'not json' },
          { EventBusName: 'tallyfy', Source: 's', DetailType: 'd', Detail: '{}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]?.ErrorCode).toBe('MalformedDetail');
    expect(out.Entries?.[1]?.EventId).toBeTruthy();

    const error = await createEventBridgeBus({ client, eventBusName: 'other-bus' })
      .publish([envelope])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusPublishError);
    expect((error as BusPublishError).failedIds).toEqual([envelope.id]);
    client.destroy();
    await bus.close();
  });
});

describe('local EventBridge data file', () => {
  test('a damaged events.jsonl keeps every whole event and is kept aside', async () => {
    const dataFile = join(dir, 'damaged-events.jsonl');
    const first = await startLocalEventBridge({ dataFile });
    const client = clientFor(first.endpoint);
    const bus = createEventBridgeBus({ client, eventBusName: 'default' });
    await bus.publish([envelope]);
    await bus.publish([{ ...envelope, id: 'second' }]);
    client.destroy();
    await first.close();
    const text = await readFile(dataFile, 'utf8');
    // a third event cut by a crash in the middle of its line
    await import('node:fs/promises').then((fs) =>
      fs.appendFile(dataFile, '{"version":"0","id":"cut'),
    );

    const second = await startLocalEventBridge({ dataFile });
    expect(second.events).toHaveLength(2);
    expect(second.salvage).toEqual([expect.objectContaining({ file: dataFile, kept: 2, lost: 1 })]);
    expect(await readFile(dataFile, 'utf8')).toBe(text);
    expect(await readFile(second.salvage[0]?.keptAt ?? '', 'utf8')).toBe(
      `${text}{"version":"0","id":"cut`,
    );
    await second.close();
  });
});
