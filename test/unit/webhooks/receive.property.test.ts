import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import { type ReceiveRequest, receiveWebhook } from '../../../shared/webhooks/index.ts';
import {
  FIXTURE_NAMES,
  fixture,
  fixtureText,
  ORG_ID,
  receiverDeps,
  request,
  SECRET_TEXT,
} from './support.ts';

const LIMIT = 1024;
const RUNS = { numRuns: 200 };

/** Runs one request on fresh ports; checks it never throws and never leaks the secret. */
async function attempt(overrides: Partial<ReceiveRequest>) {
  const ctx = receiverDeps({ limits: { maxBodyBytes: LIMIT } });
  const response = await receiveWebhook(ctx.deps, request({ body: '{}', ...overrides }));
  for (const line of ctx.captured.lines) expect(line).not.toContain(SECRET_TEXT);
  return { response, ...ctx };
}

function expectRefused(
  outcome: Awaited<ReturnType<typeof attempt>>,
  status: number,
  code: string,
): void {
  expect(outcome.response).toMatchObject({ status, body: { error: { code } } });
  expect(outcome.queue.messages).toHaveLength(0);
  expect(outcome.archive.objects.size).toBe(0);
}

const notJson = fc.string({ unit: 'binary' }).filter((text) => {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
});

const jsonNonObject = fc
  .jsonValue()
  .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
  .map((v) => JSON.stringify(v));

const nonJsonMediaType = fc
  .tuple(
    fc.constantFrom('text', 'application', 'multipart', 'image', 'x'),
    fc.stringMatching(/^[a-z0-9.-]{1,20}$/),
  )
  .filter(([, sub]) => sub !== 'json' && !sub.endsWith('+json'))
  .map(([type, sub]) => `${type}/${sub}`);

describe('every malformed request gets its documented 4xx, queues nothing and never throws', () => {
  test('text that is not JSON → 400 WEBHOOKS_JSON_INVALID', async () => {
    await fc.assert(
      fc.asyncProperty(notJson, async (body) => {
        const outcome = await attempt({ body: body.slice(0, LIMIT / 4) });
        expectRefused(outcome, 400, 'WEBHOOKS_JSON_INVALID');
      }),
      RUNS,
    );
  });

  test('JSON that is not an object → 400 WEBHOOKS_BODY_INVALID', async () => {
    await fc.assert(
      fc.asyncProperty(jsonNonObject, async (body) => {
        fc.pre(Buffer.byteLength(body) <= LIMIT);
        expectRefused(await attempt({ body }), 400, 'WEBHOOKS_BODY_INVALID');
      }),
      RUNS,
    );
  });

  test('a body over the limit → 413, whatever it holds and however it is encoded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', minLength: LIMIT + 1, maxLength: LIMIT * 3 }),
        fc.boolean(),
        async (text, base64) => {
          fc.pre(Buffer.byteLength(text) > LIMIT);
          const body = base64 ? Buffer.from(text).toString('base64') : text;
          expectRefused(
            await attempt({ body, isBase64Encoded: base64 }),
            413,
            'WEBHOOKS_BODY_TOO_LARGE',
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  test('a content type that is not JSON → 415', async () => {
    await fc.assert(
      fc.asyncProperty(nonJsonMediaType, async (contentType) => {
        const outcome = await attempt({
          headers: { 'content-type': contentType, 'x-tallyfy-orgid': ORG_ID },
        });
        expectRefused(outcome, 415, 'WEBHOOKS_MEDIA_TYPE_UNSUPPORTED');
      }),
      RUNS,
    );
  });

  test('a wrong secret → 401', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), async (text) => {
        fc.pre(text !== SECRET_TEXT);
        expectRefused(await attempt({ secret: new Secret(text) }), 401, 'WEBHOOKS_UNAUTHORIZED');
      }),
      RUNS,
    );
  });

  test('a wrong org → 401', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), async (orgId) => {
        fc.pre(orgId !== ORG_ID);
        expectRefused(await attempt({ orgId }), 401, 'WEBHOOKS_UNAUTHORIZED');
      }),
      RUNS,
    );
  });

  test('an X-Tallyfy-orgID naming another org → 401', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), async (header) => {
        fc.pre(header.trim() !== ORG_ID);
        const outcome = await attempt({
          headers: { 'content-type': 'application/json', 'X-Tallyfy-OrgId': header },
        });
        expectRefused(outcome, 401, 'WEBHOOKS_UNAUTHORIZED');
      }),
      RUNS,
    );
  });
});

/** Keys that would change a payload's shape if added. */
const MARKERS = new Set(['event', 'this_task', 'checklist_id', 'data', 'id', 'status']);

describe('valid payloads are queued whatever else they carry', () => {
  test('every fixture with random extra fields is queued under the fixture’s own key', async () => {
    const plain = new Map<string, string>();
    for (const name of FIXTURE_NAMES) {
      const ctx = receiverDeps();
      const response = await receiveWebhook(ctx.deps, request({ body: fixtureText(name) }));
      if (response.status !== 202) throw new Error(`${name} was not accepted`);
      plain.set(name, response.body.id);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FIXTURE_NAMES),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), {
          maxKeys: 6,
        }),
        async (name, extra) => {
          const payload = fixture(name);
          for (const [key, value] of Object.entries(extra)) {
            if (!(key in payload) && !MARKERS.has(key) && key !== '__proto__') payload[key] = value;
          }
          const ctx = receiverDeps();
          const response = await receiveWebhook(
            ctx.deps,
            request({ body: JSON.stringify(payload) }),
          );
          expect(response).toEqual({ status: 202, body: { accepted: true, id: plain.get(name) } });
          expect(ctx.queue.envelopes()[0]?.data).toEqual(JSON.parse(JSON.stringify(payload)));
        },
      ),
      RUNS,
    );
  });

  test('any JSON object without a Tallyfy marker is kept as unknown', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
        async (object) => {
          for (const key of ['event', 'this_task', 'checklist_id']) delete object[key];
          const body = JSON.stringify(object);
          fc.pre(Buffer.byteLength(body) <= LIMIT);
          const outcome = await attempt({ body });
          expect(outcome.response.status).toBe(202);
          expect(outcome.queue.envelopes()[0]?.type).toBe('unknown');
        },
      ),
      RUNS,
    );
  });
});
