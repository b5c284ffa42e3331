import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import {
  closeSharedDispatchers,
  createTallyfyClient,
  type RetryEvent,
  staticToken,
  type TallyfyAuth,
  TallyfyAuthError,
  type TallyfyClientOptions,
  TallyfyError,
  TallyfyForbiddenError,
  TallyfyNetworkError,
  TallyfyNotFoundError,
  TallyfyRateLimitError,
  TallyfyRequestError,
  TallyfyResponseError,
  TallyfyServerError,
  TallyfyValidationError,
} from '../../../shared/tallyfy/index.ts';
import { fakeTime, type Handler, json, startServer, type TestServer } from './support.ts';

const TOKEN = 'tok-unit-0123456789abcdef';
let server: TestServer | undefined;

afterAll(async () => {
  await closeSharedDispatchers();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clientFor(handler: Handler, options: Partial<TallyfyClientOptions> = {}) {
  server = await startServer(handler);
  const time = fakeTime();
  const retries: RetryEvent[] = [];
  const client = createTallyfyClient({
    auth: staticToken(new Secret(TOKEN)),
    baseUrl: server.url,
    dispatcher: server.dispatcher,
    clock: time.clock,
    sleep: time.sleep,
    random: () => 0.5,
    onRetry: (e) => retries.push(e),
    ...options,
  });
  return { client, time, retries, seen: server.seen };
}

describe('TallyfyClient headers', () => {
  test('every call carries exactly "Bearer <token>", Accept JSON and X-Tallyfy-Client', async () => {
    const { client, seen } = await clientFor((_req, res) => json(res, 200, { data: { id: 1 } }));
    await client.get('/me');
    await client.post('/organizations/o1/runs', { body: { name: 'x' } });
    expect(seen).toHaveLength(2);
    for (const req of seen) {
      const raw = new Map<string, string>();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        raw.set((req.rawHeaders[i] ?? '').toLowerCase(), req.rawHeaders[i + 1] ?? '');
      }
      expect(raw.get('authorization')).toBe(`Bearer ${TOKEN}`);
      expect(raw.get('accept')).toBe('application/json');
      expect(raw.get('x-tallyfy-client')).toBe('APIClient');
    }
    expect(seen[0]?.url).toBe('/api/me');
    expect(seen[1]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({ name: 'x' });
  });

  test('query values are encoded, undefined ones left out and arrays joined with commas', async () => {
    const { client, seen } = await clientFor((_req, res) => json(res, 200, {}));
    await client.get('/organizations/o1/runs', {
      query: { status: ['active', 'completed'], sort: '-created_at', q: 'a b&c', skip: undefined },
    });
    expect(seen[0]?.url).toBe(
      '/api/organizations/o1/runs?status=active%2Ccompleted&sort=-created_at&q=a+b%26c',
    );
    await expect(client.get('/has space')).rejects.toBeInstanceOf(TypeError);
  });
});

describe('TallyfyClient errors', () => {
  const cases: [number, unknown, new (...args: never[]) => TallyfyError, string, string][] = [
    [401, { message: 'Unauthenticated.' }, TallyfyAuthError, 'TALLYFY_UNAUTHORIZED', 'auth'],
    [403, { message: 'Forbidden.' }, TallyfyForbiddenError, 'TALLYFY_FORBIDDEN', 'permanent'],
    [404, { message: 'Run not found.' }, TallyfyNotFoundError, 'TALLYFY_NOT_FOUND', 'permanent'],
    [
      422,
      { message: 'The given data was invalid.', errors: { name: ['The name is required.'] } },
      TallyfyValidationError,
      'TALLYFY_VALIDATION_FAILED',
      'permanent',
    ],
    [400, { message: 'Bad.' }, TallyfyRequestError, 'TALLYFY_REQUEST_REJECTED', 'permanent'],
    [500, { message: 'Server Error' }, TallyfyServerError, 'TALLYFY_SERVER_ERROR', 'transient'],
  ];
  test.each(cases)(
    'status %i becomes a typed error with code, kind, method, path and request id',
    async (status, body, cls, code, kind) => {
      const { client } = await clientFor((_req, res) =>
        json(res, status, body, { 'x-request-id': 'req-42' }),
      );
      const err = await client
        .get('/organizations/o1/runs/r1', { query: { secret_filter: 'x' } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect(err).toBeInstanceOf(TallyfyError);
      const e = err as TallyfyError;
      expect(e.code).toBe(code);
      expect(e.kind).toBe(kind);
      expect(e.retryable).toBe(kind === 'transient');
      expect(e.status).toBe(status);
      expect(e.method).toBe('GET');
      expect(e.path).toBe('/organizations/o1/runs/r1');
      expect(e.requestId).toBe('req-42');
      expect(e.tallyfyMessage).toBe((body as { message: string }).message);
      expect(e.message).not.toContain('secret_filter');
    },
  );

  test('a 401 names the documented likely causes', async () => {
    const { client } = await clientFor((_req, res) =>
      json(res, 401, { message: 'Unauthenticated.' }),
    );
    const err = (await client.get('/me').catch((e: unknown) => e)) as TallyfyAuthError;
    expect(err.hint).toContain('X-Tallyfy-Client');
    expect(err.message).toContain('expired');
    expect(err.message).toContain('client-credentials token');
    expect(err.message).toContain('"Bearer <token>"');
  });

  test('a 422 carries Tallyfy field errors', async () => {
    const { client } = await clientFor((_req, res) =>
      json(res, 422, {
        message: 'The given data was invalid.',
        errors: { checklist_id: ['The selected checklist id is invalid.'] },
      }),
    );
    const err = (await client
      .post('/organizations/o1/runs', { body: {} })
      .catch((e: unknown) => e)) as TallyfyValidationError;
    expect(err.fieldErrors).toEqual({ checklist_id: ['The selected checklist id is invalid.'] });
    expect(err.message).toContain('checklist_id');
  });

  test('a 2xx body that is not JSON is a bad_response error', async () => {
    const { client } = await clientFor((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>proxy</html>');
    });
    await expect(client.get('/me')).rejects.toBeInstanceOf(TallyfyResponseError);
  });
});

describe('TallyfyClient retries', () => {
  test('a 429 waits Retry-After (seconds) and the retries are counted', async () => {
    const { client, time, retries } = await clientFor((_req, res, i) =>
      i < 2
        ? json(res, 429, { message: 'Too Many Attempts.' }, { 'retry-after': '3' })
        : json(res, 200, { ok: true }),
    );
    const res = await client.request('GET', '/me');
    expect(res.data).toEqual({ ok: true });
    expect(res.attempts).toBe(3);
    expect(time.sleeps).toEqual([3000, 3000]);
    expect(retries.map((r) => r.reason)).toEqual(['rate_limited', 'rate_limited']);
    expect(client.stats).toMatchObject({ requests: 1, attempts: 3, retries: 2 });
    expect(client.stats.retriesByReason.rate_limited).toBe(2);
  });

  test('a Retry-After HTTP date is honoured; one beyond the cap is handed back, not waited', async () => {
    const start = fakeTime().clock();
    const { client, time, seen } = await clientFor(
      (_req, res, i) =>
        i === 0
          ? json(res, 429, {}, { 'retry-after': new Date(start + 5000).toUTCString() })
          : i === 1
            ? json(res, 429, {}, { 'retry-after': '3600' })
            : json(res, 200, {}),
      { retry: { retryAfterCapMs: 30_000, deadlineMs: 600_000 } },
    );
    const err = (await client.get('/me').catch((e: unknown) => e)) as TallyfyRateLimitError;
    expect(time.sleeps).toEqual([5000]);
    expect(seen).toHaveLength(2);
    expect(err).toBeInstanceOf(TallyfyRateLimitError);
    expect(err).toMatchObject({ retryAfterMs: 3_600_000, attempts: 2, retryable: true });
    expect(err.message).toContain('Retry after 3600 s');
  });

  test('a POST is retried on 429 (refused unprocessed)', async () => {
    const { client, seen } = await clientFor((_req, res, i) =>
      i === 0 ? json(res, 429, {}, { 'retry-after': '1' }) : json(res, 201, { data: { id: 'r' } }),
    );
    await client.post('/organizations/o1/runs', { body: {} });
    expect(seen).toHaveLength(2);
  });

  test('rate limiting that outlasts the retries ends in TallyfyRateLimitError with retryAfterMs', async () => {
    const { client, seen } = await clientFor(
      (_req, res) => json(res, 429, {}, { 'retry-after': '2' }),
      {
        retry: { maxRetries: 2 },
      },
    );
    const err = (await client.get('/me').catch((e: unknown) => e)) as TallyfyRateLimitError;
    expect(err).toBeInstanceOf(TallyfyRateLimitError);
    expect(err.retryAfterMs).toBe(2000);
    expect(err.attempts).toBe(3);
    expect(seen).toHaveLength(3);
  });

  test.each([500, 502, 503, 504])(
    'GET is retried on %i with exponential backoff and jitter',
    async (status) => {
      const { client, time, seen } = await clientFor(
        (_req, res, i) => (i < 3 ? json(res, status, {}) : json(res, 200, { ok: 1 })),
        { random: () => 1 },
      );
      await client.get('/me');
      expect(seen).toHaveLength(4);
      // 500, 1000, 2000 ms, each at +20% jitter (random() = 1)
      expect(time.sleeps).toEqual([600, 1200, 2400]);
    },
  );

  test('a POST is never retried on 5xx', async () => {
    const { client, seen, retries } = await clientFor((_req, res) => json(res, 503, {}));
    const err = await client.post('/organizations/o1/runs', { body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TallyfyServerError);
    expect((err as Error).message).toContain('not retried');
    expect(seen).toHaveLength(1);
    expect(retries).toHaveLength(0);
  });

  test('a GET answered 500 every time stops at maxRetries (bounded) with the server error', async () => {
    const { client, seen } = await clientFor((_req, res) => json(res, 500, {}), {
      retry: { maxRetries: 2 },
    });
    const err = (await client.get('/me').catch((e: unknown) => e)) as TallyfyServerError;
    expect(err).toBeInstanceOf(TallyfyServerError);
    expect(err.status).toBe(500);
    expect(seen).toHaveLength(3);
  });

  test('a POST answered 500 is not retried: it may have taken effect', async () => {
    const { client, seen } = await clientFor((_req, res) => json(res, 500, {}));
    await expect(client.post('/organizations/o1/runs', { body: {} })).rejects.toBeInstanceOf(
      TallyfyServerError,
    );
    expect(seen).toHaveLength(1);
  });

  test('retries stop at maxRetries and the last error is thrown', async () => {
    const { client, seen } = await clientFor((_req, res) => json(res, 502, {}));
    const err = (await client.get('/me').catch((e: unknown) => e)) as TallyfyServerError;
    expect(err.attempts).toBe(5);
    expect(seen).toHaveLength(5);
  });

  test('the overall deadline stops retries whose wait would pass it', async () => {
    const { client, time, seen } = await clientFor((_req, res) => json(res, 503, {}), {
      retry: { deadlineMs: 2000 },
    });
    await expect(client.get('/me')).rejects.toBeInstanceOf(TallyfyServerError);
    // waits 500 then 1000 (now 1500 ms in); the next 2000 ms wait would end past the deadline
    expect(time.sleeps).toEqual([500, 1000]);
    expect(seen).toHaveLength(3);
  });

  test('a GET whose connection is reset is retried', async () => {
    const { client, seen, retries } = await clientFor((_req, res, i) => {
      if (i === 0) res.socket?.destroy();
      else json(res, 200, { ok: true });
    });
    expect(await client.get('/me')).toEqual({ ok: true });
    expect(seen).toHaveLength(2);
    expect(retries[0]?.reason).toBe('network_error');
  });

  test('a POST whose connection is reset is not retried and says so with a network error', async () => {
    const { client, seen } = await clientFor((_req, res) => {
      res.socket?.destroy();
    });
    const err = (await client
      .post('/organizations/o1/runs', { body: {} })
      .catch((e: unknown) => e)) as TallyfyNetworkError;
    expect(err).toBeInstanceOf(TallyfyNetworkError);
    expect(err.failure).toBe('reset');
    expect(err.kind).toBe('transient');
    expect(seen).toHaveLength(1);
  });

  test('an answer that never comes ends in a headers timeout, per attempt', async () => {
    const { client, seen } = await clientFor(() => undefined, {
      headersTimeoutMs: 50,
      retry: { maxRetries: 1, minDelayMs: 1 },
    });
    const err = (await client.get('/me').catch((e: unknown) => e)) as TallyfyNetworkError;
    expect(err).toBeInstanceOf(TallyfyNetworkError);
    expect(err.failure).toBe('timeout');
    expect(err.attempts).toBe(2);
    expect(seen).toHaveLength(2);
  });

  test('a refused connection is retried even for POST (nothing was sent)', async () => {
    server = await startServer(() => undefined);
    const url = server.url;
    await server.close();
    server = undefined;
    const time = fakeTime();
    const client = createTallyfyClient({
      auth: staticToken(new Secret(TOKEN)),
      baseUrl: url,
      sleep: time.sleep,
      clock: time.clock,
      retry: { maxRetries: 2 },
    });
    const err = (await client
      .post('/x', { body: {} })
      .catch((e: unknown) => e)) as TallyfyNetworkError;
    expect(err.failure).toBe('refused');
    expect(err.attempts).toBe(3);
  });
});

describe('TallyfyClient 401 and the auth port', () => {
  function rotatingAuth(answer: boolean) {
    const tokens = [new Secret('old-token-aaaaaaaa'), new Secret('new-token-bbbbbbbb')];
    let current = 0;
    const rejected: string[] = [];
    const auth: TallyfyAuth = {
      getToken: async () => tokens[current] as Secret,
      onUnauthorized: async (t) => {
        rejected.push(t.reveal());
        if (answer) current = 1;
        return answer;
      },
    };
    return { auth, rejected };
  }

  test('a 401 asks onUnauthorized and retries once with the fresh token, even a POST', async () => {
    const { auth, rejected } = rotatingAuth(true);
    const { client, seen, retries } = await clientFor(
      (req, res) =>
        req.headers.authorization === 'Bearer new-token-bbbbbbbb'
          ? json(res, 201, { ok: true })
          : json(res, 401, { message: 'Unauthenticated.' }),
      { auth },
    );
    expect(await client.post('/organizations/o1/runs', { body: {} })).toEqual({ ok: true });
    expect(rejected).toEqual(['old-token-aaaaaaaa']);
    expect(seen.map((r) => r.headers.authorization)).toEqual([
      'Bearer old-token-aaaaaaaa',
      'Bearer new-token-bbbbbbbb',
    ]);
    expect(retries.map((r) => r.reason)).toEqual(['unauthorized']);
  });

  test('a second 401 after the refresh is thrown, not retried again', async () => {
    const { auth, rejected } = rotatingAuth(true);
    const { client, seen } = await clientFor(
      (_req, res) => json(res, 401, { message: 'Unauthenticated.' }),
      { auth },
    );
    await expect(client.get('/me')).rejects.toBeInstanceOf(TallyfyAuthError);
    expect(seen).toHaveLength(2);
    expect(rejected).toHaveLength(1);
  });

  test('when onUnauthorized answers false the 401 stands at once', async () => {
    const { auth } = rotatingAuth(false);
    const { client, seen } = await clientFor((_req, res) => json(res, 401, {}), { auth });
    const err = (await client.get('/me').catch((e: unknown) => e)) as TallyfyAuthError;
    expect(err.kind).toBe('auth');
    expect(seen).toHaveLength(1);
  });
});

describe('TallyfyClient pagination', () => {
  const items = Array.from({ length: 7 }, (_, i) => ({
    id: `t${i}`,
    title: `Task ${i}`,
    status: 'not-started',
  }));
  const pager: Handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    const page = Number(url.searchParams.get('page'));
    const perPage = Number(url.searchParams.get('per_page'));
    const totalPages = Math.ceil(items.length / perPage);
    json(res, 200, {
      data: items.slice((page - 1) * perPage, page * perPage),
      meta: {
        pagination: {
          total: items.length,
          count: 0,
          per_page: perPage,
          current_page: page,
          total_pages: totalPages,
          links: page < totalPages ? { next: `http://x?page=${page + 1}` } : [],
        },
      },
    });
  };

  test('pages follow meta.pagination to the last page and report calls per page', async () => {
    const { client, seen } = await clientFor(pager);
    const pages = [];
    for await (const page of client.pages(
      '/organizations/o1/tasks',
      { status: 'active' },
      { perPage: 3 },
    )) {
      pages.push(page);
    }
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => p.page)).toEqual([1, 2, 3]);
    expect(pages[0]).toMatchObject({ totalPages: 3, total: 7, perPage: 3, calls: 1 });
    expect(seen.map((r) => r.url)).toEqual([
      '/api/organizations/o1/tasks?status=active&page=1&per_page=3',
      '/api/organizations/o1/tasks?status=active&page=2&per_page=3',
      '/api/organizations/o1/tasks?status=active&page=3&per_page=3',
    ]);
  });

  test('per_page defaults to 100 and more than 100 is refused before any call', async () => {
    const { client, seen } = await clientFor(pager);
    const iterator = client.pages('/x', {}, { perPage: 101 });
    await expect(iterator.next()).rejects.toBeInstanceOf(RangeError);
    for await (const _ of client.pages('/x')) break;
    expect(seen[0]?.url).toBe('/api/x?page=1&per_page=100');
  });

  test('a list without pagination meta is one page', async () => {
    const { client, seen } = await clientFor((_req, res) => json(res, 200, { data: [{ id: 1 }] }));
    const pages = [];
    for await (const page of client.pages('/x')) pages.push(page);
    expect(pages).toHaveLength(1);
    expect(seen).toHaveLength(1);
  });

  test('without total_pages, links.next decides whether there is another page', async () => {
    const { client } = await clientFor((req, res) => {
      const page = Number(new URL(req.url, 'http://x').searchParams.get('page'));
      json(res, 200, {
        data: [{ id: page }],
        meta: { pagination: { current_page: page, links: page < 2 ? { next: 'more' } : {} } },
      });
    });
    const ids = [];
    for await (const page of client.pages<{ id: number }>('/x'))
      ids.push(...page.data.map((d) => d.id));
    expect(ids).toEqual([1, 2]);
  });
});
