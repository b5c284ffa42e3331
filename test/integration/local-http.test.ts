/**
 * The scaffolding every local server shares (local/http.ts), over real sockets on loopback.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { type LocalServer, readBody, sendJson, startLocalServer } from '../../local/http.ts';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** POSTs `body` and resolves with the status and text, or the socket error. */
function post(origin: string, body: string): Promise<{ status: number; text: string } | Error> {
  return new Promise((resolve) => {
    const req = request(`${origin}/`, { method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.end(body);
  });
}

describe('local server scaffolding', () => {
  test('a body over the limit is read to its end and answered, one at the limit is served', async () => {
    const server = await startLocalServer(
      async (req, res) => {
        const body = await readBody(req, 10);
        if (body === undefined) return sendJson(res, 413, { message: 'too large' });
        sendJson(res, 200, { length: body.length });
      },
      { failureAnswer: () => ({ status: 500, body: {} }) },
    );
    servers.push(server);
    expect(await post(server.origin, 'x'.repeat(10))).toEqual({
      status: 200,
      text: '{"length":10}',
    });
    expect(await post(server.origin, 'x'.repeat(100_000))).toEqual({
      status: 413,
      text: '{"message":"too large"}',
    });
  });

  test('a handler that fails before answering gets the engine failure answer, and is reported', async () => {
    const seen: unknown[] = [];
    const server = await startLocalServer(
      async () => {
        throw new Error('engine bug');
      },
      {
        failureAnswer: (error) => ({
          status: 500,
          body: { __type: 'InternalError', message: (error as Error).message },
          headers: { 'content-type': 'application/x-amz-json-1.0' },
        }),
        onError: (error) => seen.push(error),
      },
    );
    servers.push(server);
    expect(await post(server.origin, '{}')).toEqual({
      status: 500,
      text: '{"__type":"InternalError","message":"engine bug"}',
    });
    expect(seen).toEqual([expect.objectContaining({ message: 'engine bug' })]);
  });

  test('a handler that fails half-way through an answer drops the connection instead', async () => {
    const server = await startLocalServer(
      async (_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        throw new Error('died mid-answer');
      },
      { failureAnswer: () => ({ status: 500, body: {} }) },
    );
    servers.push(server);
    const outcome = await post(server.origin, '');
    expect(outcome).toBeInstanceOf(Error);
  });

  test('a port in use is refused with Node’s own error, for the caller to explain', async () => {
    const first = await startLocalServer(async () => undefined, {
      failureAnswer: () => ({ status: 500, body: {} }),
    });
    servers.push(first);
    await expect(
      startLocalServer(async () => undefined, {
        port: first.port,
        failureAnswer: () => ({ status: 500, body: {} }),
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
