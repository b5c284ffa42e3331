import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Secret } from '../../../shared/secret.ts';
import {
  clientCredentialsGrant,
  createTallyfyClient,
  mintAppUserToken,
  passwordGrant,
  refreshTokenGrant,
  staticToken,
  TallyfyApi,
  TallyfyError,
  validatePersonalAccessToken,
} from '../../../shared/tallyfy/index.ts';
import { json, startServer, type TestServer } from './support.ts';

const ACCESS = 'access-TOKEN-5ecr3t-aaaa';
const CLIENT_SECRET = 'client-SECRET-5ecr3t-bbbb';
const PASSWORD = 'pass-WORD-5ecr3t-cccc';
const REFRESH = 'refresh-TOKEN-5ecr3t-dddd';
const WEBHOOK = 'https://hooks.example.test/hooks/o1/webhook-5ecr3t-eeee';
const ALL = [ACCESS, CLIENT_SECRET, PASSWORD, REFRESH, 'webhook-5ecr3t-eeee'];

/**
 * A hostile server: it echoes every credential it received (header and body) into its error
 * messages and field errors, as a careless proxy or a verbose server might.
 */
function echo(body: string, authorization: string | undefined): string {
  return `received ${authorization ?? ''} ${decodeURIComponent(body.replace(/\+/g, ' '))}`;
}

function assertClean(err: unknown) {
  expect(err).toBeInstanceOf(TallyfyError);
  const views = [
    String(err),
    (err as Error).message,
    (err as Error).stack ?? '',
    JSON.stringify(err),
    inspect(err, { depth: 20, showHidden: true }),
  ];
  for (const view of views) for (const value of ALL) expect(view).not.toContain(value);
}

describe('no secret in any error', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer((req, res) => {
      const status = Number(
        /status=(\d+)/.exec(req.url)?.[1] ?? /\/s(\d{3})/.exec(req.url)?.[1] ?? 400,
      );
      const said = echo(req.body, req.headers.authorization);
      if (req.url.includes('/reset')) {
        res.socket?.destroy();
        return;
      }
      if (req.url.includes('/hang')) return;
      if (req.url.includes('/notjson')) {
        res.writeHead(200);
        res.end(`not json ${said}`);
        return;
      }
      json(
        res,
        status,
        {
          message: said,
          error: status === 401 ? 'invalid_client' : 'invalid_grant',
          error_description: said,
          errors: { field: [said] },
        },
        { 'x-request-id': 'r1', 'retry-after': '1' },
      );
    });
  });
  afterAll(async () => {
    await server.close();
  });

  function api() {
    return new TallyfyApi(
      createTallyfyClient({
        auth: staticToken(new Secret(ACCESS)),
        baseUrl: server.url,
        dispatcher: server.dispatcher,
        headersTimeoutMs: 100,
        sleep: async () => undefined,
        retry: { maxRetries: 1 },
      }),
    );
  }

  test.each([401, 403, 404, 422, 429, 400, 500, 503])(
    'client error for status %i',
    async (status) => {
      const err = await api()
        .client.request('POST', `/s${status}`, {
          body: { webhook: new Secret(WEBHOOK), nested: { password: new Secret(PASSWORD) } },
        })
        .catch((e: unknown) => e);
      expect((err as TallyfyError).status).toBe(status);
      assertClean(err);
    },
  );

  test('client errors without an answer (reset, timeout) and with a non-JSON body', async () => {
    for (const path of ['/reset', '/hang', '/notjson']) {
      const err = await api()
        .client.get(path)
        .catch((e: unknown) => e);
      assertClean(err);
    }
  });

  test('adding a watcher that fails does not leak the webhook URL', async () => {
    const err = await api()
      .addWebhookWatcher('o1', 'u1', new Secret(WEBHOOK))
      .catch((e: unknown) => e);
    assertClean(err);
  });

  test.each([400, 401, 429, 500])('every grant failure with status %i', async (status) => {
    const opts = {
      baseUrl: `${server.url}/s${status}`,
      tokenUrl: `${server.url}/s${status}/oauth/token`,
      dispatcher: server.dispatcher,
      sleep: async () => undefined,
      retry: { maxRetries: 0 },
    };
    const clientSecret = new Secret(CLIENT_SECRET);
    const calls = [
      passwordGrant(
        { clientId: '1', clientSecret, username: 'u@example.test', password: new Secret(PASSWORD) },
        opts,
      ),
      refreshTokenGrant({ clientId: '1', clientSecret, refreshToken: new Secret(REFRESH) }, opts),
      clientCredentialsGrant({ clientId: '1', clientSecret }, opts),
      mintAppUserToken(
        { appToken: new Secret(ACCESS), orgId: 'o1', email: 'u@example.test' },
        opts,
      ),
      validatePersonalAccessToken(new Secret(ACCESS), opts),
    ];
    for (const call of calls) assertClean(await call.catch((e: unknown) => e));
  });

  test('grant network failures and malformed token answers', async () => {
    const clientSecret = new Secret(CLIENT_SECRET);
    for (const path of ['/reset', '/hang', '/notjson']) {
      const err = await passwordGrant(
        { clientId: '1', clientSecret, username: 'u', password: new Secret(PASSWORD) },
        {
          baseUrl: `${server.url}${path}`,
          tokenUrl: `${server.url}${path}/oauth/token`,
          dispatcher: server.dispatcher,
          headersTimeoutMs: 100,
        },
      ).catch((e: unknown) => e);
      assertClean(err);
    }
  });
});
