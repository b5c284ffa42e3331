import { describe, expect, test } from 'vitest';
import {
  ArchiveError,
  envelopeData,
  eventEnvelopeSchema,
  memoryEventQueue,
  QueueSendError,
} from '../../../shared/events/index.ts';
import { ORG_ID_MAX_LENGTH } from '../../../shared/orgs/index.ts';
import { Secret } from '../../../shared/secret.ts';
import { receiveWebhook, webhookArchiveKey } from '../../../shared/webhooks/index.ts';
import {
  activeOrg,
  FIXTURE_NAMES,
  fixture,
  fixtureText,
  mapAuthLookup,
  NOW_MS,
  ORG_ID,
  OTHER_SECRET_TEXT,
  receiverDeps,
  request,
  SECRET_TEXT,
} from './support.ts';

const EXPECTED: Record<string, { type: string; subject: string; time: string }> = {
  'task-completed.json': {
    type: 'task.completed',
    subject: 't7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d',
    time: '2026-11-19T10:42:13.000Z',
  },
  'task-completed-last-step.json': {
    type: 'task.completed',
    subject: 't9e8d7c6b5a44f3e2d1c0b9a8f7e6d5c',
    time: '2026-11-21T15:10:00.000Z',
  },
  'process-launched.json': {
    type: 'process.launched',
    subject: 'r1a2b3c4d5e64f7a8b9c0d1e2f3a4b5c',
    time: '2026-11-18T08:00:00.000Z',
  },
  'process-completed.json': {
    type: 'process.completed',
    subject: 'r1a2b3c4d5e64f7a8b9c0d1e2f3a4b5c',
    time: '2026-11-21T15:10:00.000Z',
  },
  'watcher-task-completed.json': {
    type: 'task.completed',
    subject: 't7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d',
    time: '2026-11-19T10:42:13.000Z',
  },
};

type TaskBody = { this_task: Record<string, unknown> };

async function receiveFixture(name: string) {
  const ctx = receiverDeps();
  const response = await receiveWebhook(ctx.deps, request({ body: fixtureText(name) }));
  return { ...ctx, response };
}

describe('receiveWebhook accepts every Tallyfy fixture', () => {
  test('the fixture set is the one the expectations cover', () => {
    expect(FIXTURE_NAMES).toEqual(Object.keys(EXPECTED).sort());
  });

  test.each(FIXTURE_NAMES)(
    '%s is queued as a valid envelope of the right type, subject and time',
    async (name) => {
      const { response, queue } = await receiveFixture(name);
      const expected = EXPECTED[name];
      expect(response.status).toBe(202);
      expect(queue.messages).toHaveLength(1);
      const [envelope] = queue.envelopes();
      expect(eventEnvelopeSchema.safeParse(JSON.parse(queue.messages[0]?.body ?? '')).success).toBe(
        true,
      );
      expect(envelope).toMatchObject({
        specversion: '1.0',
        source: `tallyfy/${ORG_ID}`,
        orgId: ORG_ID,
        origin: 'webhook',
        type: expected?.type,
        subject: expected?.subject,
        time: expected?.time,
        receivedAt: new Date(NOW_MS).toISOString(),
        id: `${expected?.type}:${expected?.subject}:${expected?.time}`,
      });
      expect(envelope?.data).toEqual(fixture(name));
      expect(response.body).toEqual({ accepted: true, id: envelope?.id });
      expect(queue.messages[0]?.attributes).toEqual({ orgId: ORG_ID, type: expected?.type });
    },
  );

  test.each(FIXTURE_NAMES)(
    '%s is archived byte for byte under the documented key',
    async (name) => {
      const { response, archive } = await receiveFixture(name);
      if (response.status !== 202) throw new Error(`expected 202, got ${response.status}`);
      const key = webhookArchiveKey({
        orgId: ORG_ID,
        receivedAtMs: NOW_MS,
        eventId: response.body.id,
      });
      expect(key.startsWith(`webhooks/${ORG_ID}/2026/11/22/20261122T093000.250Z-`)).toBe(true);
      const stored = archive.objects.get(key);
      expect(Buffer.from(stored?.body ?? []).toString('utf8')).toBe(fixtureText(name));
      expect(stored?.meta).toMatchObject({ orgId: ORG_ID, eventId: response.body.id });
    },
  );
});

describe('next_task at the end of a process', () => {
  test.each([
    ['[]', []],
    ['{}', {}],
    ['null', null],
  ])('next_task %s is accepted and keyed like the other forms', async (_name, nextTask) => {
    const body = { ...fixture('task-completed-last-step.json'), next_task: nextTask };
    const ctx = receiverDeps();
    const response = await receiveWebhook(ctx.deps, request({ body: JSON.stringify(body) }));
    expect(response.status).toBe(202);
    const [envelope] = ctx.queue.envelopes();
    expect(envelope).toMatchObject({
      type: 'task.completed',
      subject: EXPECTED['task-completed-last-step.json']?.subject,
      time: EXPECTED['task-completed-last-step.json']?.time,
    });
    expect((envelope?.data as { next_task?: unknown } | undefined)?.next_task).toEqual(nextTask);
  });
});

describe('dedupe keys', () => {
  test('a template hook and an org watcher for the same completion get the same key', async () => {
    const template = await receiveFixture('task-completed.json');
    const watcher = await receiveFixture('watcher-task-completed.json');
    expect(template.queue.envelopes()[0]?.id).toBe(watcher.queue.envelopes()[0]?.id);
  });

  test('a watcher event with the task payload at the top level gets the same key too', async () => {
    const flat = { event: 'task.completed', ...fixture('task-completed.json') };
    const ctx = receiverDeps();
    await receiveWebhook(ctx.deps, request({ body: JSON.stringify(flat) }));
    const template = await receiveFixture('task-completed.json');
    expect(ctx.queue.envelopes()[0]?.id).toBe(template.queue.envelopes()[0]?.id);
  });

  test('the same completion in the localized and the ISO date format gets the same key', async () => {
    const localized = fixture('task-completed-last-step.json');
    const iso = structuredClone(localized) as { this_task: Record<string, unknown> };
    iso.this_task.completed_at = '2026-11-21T15:10:00Z';
    const a = receiverDeps();
    const b = receiverDeps();
    await receiveWebhook(a.deps, request({ body: JSON.stringify(localized) }));
    await receiveWebhook(b.deps, request({ body: JSON.stringify(iso) }));
    expect(a.queue.envelopes()[0]?.time).toBe('2026-11-21T15:10:00.000Z');
    expect(a.queue.envelopes()[0]?.id).toBe(b.queue.envelopes()[0]?.id);
  });

  test('a well-formed object of no known shape is kept as unknown, keyed by a body hash', async () => {
    const ctx = receiverDeps();
    const response = await receiveWebhook(ctx.deps, request({ body: '{"hello":"world"}' }));
    expect(response.status).toBe(202);
    const [envelope] = ctx.queue.envelopes();
    expect(envelope?.type).toBe('unknown');
    expect(envelope?.subject).toBeUndefined();
    expect(envelope?.id).toMatch(/^unknown:sha256:[0-9a-f]{64}$/);
    expect(envelope?.time).toBe(new Date(NOW_MS).toISOString());
  });

  test('a task payload that is not completed is kept as unknown with its task as subject', async () => {
    const body = fixture('task-completed.json') as { this_task: Record<string, unknown> };
    body.this_task.status = 'in-progress';
    body.this_task.completed_at = null;
    const ctx = receiverDeps();
    await receiveWebhook(ctx.deps, request({ body: JSON.stringify(body) }));
    expect(ctx.queue.envelopes()[0]).toMatchObject({
      type: 'unknown',
      subject: 't7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d',
    });
  });

  test('a watcher event we do not name travels as unknown, not refused', async () => {
    const body = {
      event: 'task.reopened',
      occurred_at: '2026-11-20T08:00:00Z',
      data: fixture('task-completed.json'),
    };
    const ctx = receiverDeps();
    const response = await receiveWebhook(ctx.deps, request({ body: JSON.stringify(body) }));
    expect(response.status).toBe(202);
    expect(ctx.queue.envelopes()[0]).toMatchObject({
      type: 'unknown',
      time: '2026-11-20T08:00:00.000Z',
    });
  });
});

describe('authentication', () => {
  const unauthorized = {
    status: 401,
    body: { error: { code: 'WEBHOOKS_UNAUTHORIZED', message: expect.any(String) } },
  };

  test('an unknown org, a wrong secret and a disabled org get the same 401 and nothing is queued', async () => {
    const disabled = receiverDeps({
      auth: mapAuthLookup({ [ORG_ID]: { ...activeOrg(), status: 'disabled' } }),
    });
    const unknownOrg = receiverDeps();
    const wrongSecret = receiverDeps();
    const answers = [
      await receiveWebhook(disabled.deps, request()),
      await receiveWebhook(unknownOrg.deps, request({ orgId: 'org000000000000' })),
      await receiveWebhook(wrongSecret.deps, request({ secret: new Secret(OTHER_SECRET_TEXT) })),
    ];
    for (const answer of answers) expect(answer).toEqual(unauthorized);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    for (const ctx of [disabled, unknownOrg, wrongSecret])
      expect(ctx.queue.messages).toHaveLength(0);
  });

  test('an org id as long as the registry allows (128) is accepted; one longer gets the 401', async () => {
    const longest = 'x'.repeat(ORG_ID_MAX_LENGTH);
    const ctx = receiverDeps({ auth: mapAuthLookup({ [longest]: activeOrg() }) });
    const headers = { 'content-type': 'application/json', 'x-tallyfy-orgid': longest };
    const accepted = await receiveWebhook(ctx.deps, request({ orgId: longest, headers }));
    expect(accepted.status).toBe(202);
    expect(ctx.queue.envelopes()[0]?.orgId).toBe(longest);
    const tooLong = `${longest}x`;
    const refused = receiverDeps({ auth: mapAuthLookup({ [tooLong]: activeOrg() }) });
    const tooLongHeaders = { ...headers, 'x-tallyfy-orgid': tooLong };
    expect(
      await receiveWebhook(refused.deps, request({ orgId: tooLong, headers: tooLongHeaders })),
    ).toEqual(unauthorized);
  });

  test('an org that needs re-authorization still accepts webhooks', async () => {
    const ctx = receiverDeps({
      auth: mapAuthLookup({ [ORG_ID]: { ...activeOrg(), status: 'needs_reauth' } }),
    });
    expect((await receiveWebhook(ctx.deps, request())).status).toBe(202);
    expect(ctx.queue.messages).toHaveLength(1);
  });

  test('during a rotation grace window both the new and the previous secret are accepted', async () => {
    const ctx = receiverDeps({
      auth: mapAuthLookup({ [ORG_ID]: activeOrg([OTHER_SECRET_TEXT, SECRET_TEXT]) }),
    });
    expect((await receiveWebhook(ctx.deps, request())).status).toBe(202);
    const other = request({ secret: new Secret(OTHER_SECRET_TEXT) });
    expect((await receiveWebhook(ctx.deps, other)).status).toBe(202);
  });

  test('an X-Tallyfy-orgID naming another org is refused with 401; an absent one is fine', async () => {
    const ctx = receiverDeps();
    const mismatch = request({
      headers: { 'Content-Type': 'application/json', 'X-Tallyfy-orgID': 'orgOTHER' },
    });
    expect(await receiveWebhook(ctx.deps, mismatch)).toEqual(unauthorized);
    expect(ctx.queue.messages).toHaveLength(0);
    const absent = request({ headers: { 'content-type': 'application/json' } });
    expect((await receiveWebhook(ctx.deps, absent)).status).toBe(202);
  });

  test('a failing org lookup answers 503 and queues nothing', async () => {
    const ctx = receiverDeps({
      auth: {
        findWebhookAuth: async () => {
          throw new Error('DynamoDB is unreachable');
        },
      },
    });
    const response = await receiveWebhook(ctx.deps, request());
    expect(response.status).toBe(503);
    expect(ctx.queue.messages).toHaveLength(0);
  });
});

describe('input checks', () => {
  test('a body one byte over the limit gets 413; at the limit it is read', async () => {
    const limit = 2048;
    const ctx = receiverDeps({ limits: { maxBodyBytes: limit } });
    const atLimit = `{"pad":"${'x'.repeat(limit - 10)}"}`;
    expect(Buffer.byteLength(atLimit)).toBe(limit);
    expect((await receiveWebhook(ctx.deps, request({ body: atLimit }))).status).toBe(202);
    const over = `{"pad":"${'x'.repeat(limit - 9)}"}`;
    const response = await receiveWebhook(ctx.deps, request({ body: over }));
    expect(response).toMatchObject({
      status: 413,
      body: { error: { code: 'WEBHOOKS_BODY_TOO_LARGE' } },
    });
    expect(ctx.queue.messages).toHaveLength(1);
  });

  test('the default limit is 256 KiB', async () => {
    const ctx = receiverDeps();
    const body = `{"pad":"${'x'.repeat(262_144 - 9)}"}`;
    expect((await receiveWebhook(ctx.deps, request({ body }))).status).toBe(413);
  });

  test.each([
    ['application/json', 202],
    ['application/json; charset=utf-8', 202],
    ['Application/JSON;Charset="UTF-8"', 202],
    ['application/vnd.tallyfy+json', 202],
    ['text/plain', 415],
    ['application/x-www-form-urlencoded', 415],
    ['application/json; charset=iso-8859-1', 415],
    ['multipart/form-data; boundary=x', 415],
  ])('content type %s answers %i', async (contentType, status) => {
    const ctx = receiverDeps();
    const response = await receiveWebhook(
      ctx.deps,
      request({ headers: { 'content-type': contentType, 'x-tallyfy-orgid': ORG_ID } }),
    );
    expect(response.status).toBe(status);
    expect(ctx.queue.messages).toHaveLength(status === 202 ? 1 : 0);
  });

  test('a request without a content type is read as JSON', async () => {
    const ctx = receiverDeps();
    const response = await receiveWebhook(ctx.deps, request({ headers: {} }));
    expect(response.status).toBe(202);
  });

  test.each([
    ['not JSON', '{"this_task": ', 'WEBHOOKS_JSON_INVALID'],
    ['empty', '', 'WEBHOOKS_JSON_INVALID'],
    ['an array', '[]', 'WEBHOOKS_BODY_INVALID'],
    ['null', 'null', 'WEBHOOKS_BODY_INVALID'],
    ['a number', '42', 'WEBHOOKS_BODY_INVALID'],
    ['a string', '"task.completed"', 'WEBHOOKS_BODY_INVALID'],
  ])('a body that is %s answers 400 and queues nothing', async (_label, body, code) => {
    const ctx = receiverDeps();
    const response = await receiveWebhook(ctx.deps, request({ body }));
    expect(response).toMatchObject({ status: 400, body: { error: { code } } });
    expect(ctx.queue.messages).toHaveLength(0);
    expect(ctx.archive.objects.size).toBe(0);
  });

  test('bytes that are not UTF-8 answer 400', async () => {
    const ctx = receiverDeps();
    const body = Buffer.concat([
      Buffer.from('{"a":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    expect((await receiveWebhook(ctx.deps, request({ body }))).status).toBe(400);
  });

  test.each([
    [
      'this_task.id is a number',
      (b: TaskBody) => {
        b.this_task.id = 42;
      },
      'this_task.id',
    ],
    [
      'this_task.id is missing',
      (b: TaskBody) => {
        delete b.this_task.id;
      },
      'this_task.id',
    ],
    [
      'completed_at is not a date',
      (b: TaskBody) => {
        b.this_task.completed_at = 'yesterday afternoon';
      },
      'this_task.completed_at',
    ],
    [
      'completed_at has a zone we cannot place',
      (b: TaskBody) => {
        b.this_task.completed_at = '21/11/2026 03:10 PM IST';
      },
      'this_task.completed_at',
    ],
  ])('a task payload whose %s answers 400 naming the field', async (_label, mutate, path) => {
    const body = fixture('task-completed.json') as TaskBody;
    mutate(body);
    const ctx = receiverDeps();
    const response = await receiveWebhook(ctx.deps, request({ body: JSON.stringify(body) }));
    expect(response).toMatchObject({
      status: 400,
      body: {
        error: { code: 'WEBHOOKS_PAYLOAD_INVALID', issues: [expect.objectContaining({ path })] },
      },
    });
    expect(ctx.queue.messages).toHaveLength(0);
  });

  test('a watcher event whose inner task id is malformed names the path under data', async () => {
    const body = fixture('watcher-task-completed.json') as {
      data: { this_task: Record<string, unknown> };
    };
    body.data.this_task.id = '';
    const ctx = receiverDeps();
    const response = await receiveWebhook(ctx.deps, request({ body: JSON.stringify(body) }));
    expect(response).toMatchObject({
      status: 400,
      body: { error: { issues: [expect.objectContaining({ path: 'data.this_task.id' })] } },
    });
  });

  test('a base64-encoded body is decoded and its size counted after decoding', async () => {
    const text = fixtureText('task-completed.json');
    const ctx = receiverDeps({ limits: { maxBodyBytes: Buffer.byteLength(text) } });
    const body = Buffer.from(text).toString('base64');
    const response = await receiveWebhook(ctx.deps, request({ body, isBase64Encoded: true }));
    expect(response.status).toBe(202);
    expect(ctx.queue.envelopes()[0]?.data).toEqual(fixture('task-completed.json'));
  });
});

describe('storage failures', () => {
  test('a failed enqueue answers a generic 503 and acknowledges nothing', async () => {
    const ctx = receiverDeps({
      queue: {
        send: async (envelope) => {
          throw new QueueSendError('SQS did not store the event', [envelope.id], {
            cause: new Error('ServiceUnavailable: queue-url https://sqs.example/123/events'),
          });
        },
      },
    });
    const response = await receiveWebhook(ctx.deps, request());
    expect(response).toEqual({
      status: 503,
      body: { error: { code: 'WEBHOOKS_UNAVAILABLE', message: expect.any(String) } },
    });
    expect(JSON.stringify(response.body)).not.toContain('SQS');
    const [line] = ctx.captured.records().filter((r) => r.level === 'ERROR');
    expect(JSON.stringify(line)).toContain('ServiceUnavailable');
  });

  test('a failed archive is logged but the queued event is still accepted', async () => {
    const ctx = receiverDeps({
      archive: {
        put: async () => {
          throw new ArchiveError('S3 did not store the body');
        },
        get: async () => undefined,
      },
    });
    const response = await receiveWebhook(ctx.deps, request());
    expect(response.status).toBe(202);
    expect(ctx.queue.messages).toHaveLength(1);
    const errors = ctx.captured.records().filter((r) => r.level === 'ERROR');
    expect(errors.map((r) => r.message)).toEqual([
      'webhook archive failed; event queued without its archive copy',
    ]);
  });

  test('an envelope too large for one message is sent as a claim check on the archived body', async () => {
    const queue = memoryEventQueue({ maxMessageBytes: 2048 });
    const ctx = receiverDeps({ queue });
    const response = await receiveWebhook(ctx.deps, request());
    expect(response.status).toBe(202);
    const [envelope] = queue.envelopes();
    expect(envelope?.data).toBeUndefined();
    expect(envelope?.dataref).toMatch(/^webhooks\/org5f4e3d2c1b0a\//);
    expect(envelope?.id).toBe(
      'task.completed:t7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d:2026-11-19T10:42:13.000Z',
    );
    if (envelope === undefined) throw new Error('no envelope');
    expect(await envelopeData(envelope, ctx.archive)).toEqual(fixture('task-completed.json'));
  });

  test('a claim check is never sent when the archive copy it points to failed', async () => {
    const queue = memoryEventQueue({ maxMessageBytes: 2048 });
    const ctx = receiverDeps({
      queue,
      archive: {
        put: async () => {
          throw new ArchiveError('S3 did not store the body');
        },
        get: async () => undefined,
      },
    });
    expect((await receiveWebhook(ctx.deps, request())).status).toBe(503);
    expect(queue.messages).toHaveLength(0);
  });
});

describe('logs', () => {
  test('no log line carries the URL secret or the payload, whatever the outcome', async () => {
    const ctx = receiverDeps();
    await receiveWebhook(ctx.deps, request());
    await receiveWebhook(ctx.deps, request({ secret: new Secret(OTHER_SECRET_TEXT) }));
    await receiveWebhook(ctx.deps, request({ body: '{oops' }));
    await receiveWebhook(ctx.deps, request({ orgId: SECRET_TEXT }));
    const failing = receiverDeps({
      queue: {
        send: async () => {
          throw new Error(`refused ${JSON.stringify(request())}`);
        },
      },
    });
    await receiveWebhook(failing.deps, request());
    const lines = [...ctx.captured.lines, ...failing.captured.lines];
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) {
      expect(line).not.toContain(SECRET_TEXT);
      expect(line).not.toContain(OTHER_SECRET_TEXT);
    }
    for (const line of ctx.captured.lines) expect(line).not.toContain('Dana Okafor');
  });

  test('an accepted webhook logs one info line with org, event id and type', async () => {
    const ctx = receiverDeps();
    await receiveWebhook(ctx.deps, request());
    expect(ctx.captured.records()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'webhook accepted',
        orgId: ORG_ID,
        type: 'task.completed',
        eventId: 'task.completed:t7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d:2026-11-19T10:42:13.000Z',
      }),
    ]);
  });
});
