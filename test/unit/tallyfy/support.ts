import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** Raw header pairs as sent on the wire (to check exact spelling and spacing). */
  rawHeaders: string[];
  body: string;
}

export interface TestServer {
  /** API base, `http://127.0.0.1:PORT/api`. */
  url: string;
  seen: SeenRequest[];
  /** A dispatcher of its own, so tests do not share the process-wide pool. */
  dispatcher: Agent;
  close(): Promise<void>;
}

export type Handler = (
  req: SeenRequest,
  res: ServerResponse,
  index: number,
) => void | Promise<void>;

/** A real node:http server on port 0 that records every request and answers with `handler`. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(request);
      void handler(request, res, seen.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dispatcher = new Agent({ keepAliveTimeout: 1000 });
  return {
    url: `http://127.0.0.1:${port}/api`,
    seen,
    dispatcher,
    async close() {
      await dispatcher.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** Records requested waits instead of waiting; advances a manual clock by them. */
export function fakeTime(startMs = Date.parse('2026-11-22T12:00:00.000Z')) {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: () => now,
    advance(ms: number) {
      now += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}
