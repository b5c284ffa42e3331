/**
 * What every local HTTP server shares (the AWS endpoints, the Tallyfy sandbox, local mode's
 * webhook/admin server): reading a bounded body, answering JSON, turning a handler's failure
 * into a 500, listening on loopback and closing with a grace period.
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The request body, or `undefined` when it is larger than `maxBytes`. The body is read to its
 * end either way, so the "too large" answer reaches a client that is still sending.
 *
 * @example
 * const body = await readBody(request, 1024 * 1024);
 * if (body === undefined) return sendJson(response, 413, { message: 'Payload too large.' });
 */
export async function readBody(
  request: IncomingMessage,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks);
}

/**
 * Writes a JSON answer with its length. `headers` may override the content type (the AWS JSON
 * protocols use `application/x-amz-json-1.x`).
 *
 * @example sendJson(response, 404, { message: 'Not Found' });
 */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string | number>> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** A request handler; a rejection becomes the server's failure answer. */
export type LocalRequestHandler = (
  request: IncomingMessage,
  response: ServerResponse,
) => Promise<void>;

/** Options of {@link startLocalServer}. */
export interface LocalServerOptions {
  /** @default 0 (a free port) */
  port?: number | undefined;
  /** @default '127.0.0.1' */
  host?: string | undefined;
  /** How long an idle keep-alive connection stays open. @default 5000 */
  keepAliveTimeoutMs?: number | undefined;
  /** Passed to `node:http` `createServer`. @default {} */
  http?: ServerOptions | undefined;
  /**
   * The answer to a request whose handler failed before it sent anything: the engine's 500 in
   * its own protocol. After a partial answer the connection is destroyed instead, so a client
   * never takes half an answer for a whole one.
   */
  failureAnswer(error: unknown): JsonAnswer;
  /** Told of every handler failure, to log it. @default nothing is logged */
  onError?: ((error: unknown) => void) | undefined;
}

/** A JSON answer: status, body and extra headers. */
export interface JsonAnswer {
  status: number;
  body: unknown;
  headers?: Readonly<Record<string, string | number>> | undefined;
}

/** A started local server. */
export interface LocalServer {
  readonly server: Server;
  readonly port: number;
  /** `http://<host>:<port>`, an IPv6 host in brackets. */
  readonly origin: string;
  /**
   * Stops accepting, closes idle connections at once and the others after `graceMs` (requests
   * in flight may finish until then); resolves once every connection is closed.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Creates the server, binds it and resolves once it listens; a bind failure (`EADDRINUSE`,
 * `EACCES`) rejects with Node's error, for the caller to explain.
 *
 * @example
 * const local = await startLocalServer(handle, {
 *   failureAnswer: () => ({ status: 500, body: { message: 'Internal Server Error' } }),
 * });
 * await local.close();
 */
export async function startLocalServer(
  handle: LocalRequestHandler,
  options: LocalServerOptions,
): Promise<LocalServer> {
  const server = createServer(options.http ?? {}, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) {
        const answer = options.failureAnswer(error);
        sendJson(response, answer.status, answer.body, answer.headers);
      } else if (!response.writableEnded) response.destroy();
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    origin: `http://${host}:${address.port}`,
    close(graceMs = 0) {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
        if (graceMs <= 0) server.closeAllConnections();
        else setTimeout(() => server.closeAllConnections(), graceMs).unref();
      });
    },
  };
}
