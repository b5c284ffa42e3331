/**
 * Local mode's HTTP server: what API Gateway does in AWS for `POST /hooks/{orgId}/{secret}`,
 * plus `GET /health` and the loopback-only admin route `POST /_local/invoke/<function>` (what
 * Lambda Invoke does for the CLI in AWS).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { scrubSecrets } from '../../shared/observability/index.ts';
import { toApiGatewayEvent, writeProxyResult } from './api-gateway.ts';
import { LocalModeError } from './errors.ts';

/** Lambda's synchronous payload limit; API Gateway answers 413 above it. */
const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
const HOOK_ROUTE = /^\/hooks\/([^/]+)\/([^/]+)\/?$/;
const INVOKE_ROUTE = /^\/_local\/invoke\/([A-Za-z0-9-]+)\/?$/;
const LOOPBACK_ADDRESSES = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/** What the server serves once local mode is running. */
export interface LocalApp {
  receiver(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2>;
  /** Runs a function in-process with a JSON event, as Lambda Invoke would. */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  functionNames(): readonly string[];
  health(): Record<string, unknown>;
  /** The operator console (bin/console), served under `/console`; it checks its own access. */
  console?(request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<void>;
}

export interface LocalHttpServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Starts serving `app`; until then every route but /health answers 503. */
  serve(app: LocalApp): void;
  /**
   * Stops accepting (new requests on open connections get 503), lets requests in flight finish
   * (up to `graceMs`), then closes. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Binds the port first, so a port in use fails in milliseconds, before any engine starts.
 * @throws LocalModeError `PORT_IN_USE` with the one-line fix
 */
export async function startLocalHttpServer(options: {
  port: number;
  host?: string;
  clock: () => number;
  onError: (message: string, error: unknown) => void;
}): Promise<LocalHttpServer> {
  const host = options.host ?? '127.0.0.1';
  let app: LocalApp | undefined;
  let stopping = false;

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.onError('local HTTP request failed', error);
      if (!response.headersSent) json(response, 500, { message: 'Internal Server Error' });
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://local');
    const path = url.pathname;
    if (path === '/health') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return json(response, 405, { message: 'Method Not Allowed' }, { allow: 'GET' });
      }
      if (stopping) return json(response, 503, { status: 'stopping' });
      if (!app) return json(response, 503, { status: 'starting' });
      return json(response, 200, { status: 'ok', ...app.health() });
    }
    if (!app || stopping) {
      return json(response, 503, { message: stopping ? 'Stopping' : 'Starting' });
    }
    const body = await readBody(request);
    if (body === undefined) return json(response, 413, { message: 'Request Entity Too Large' });

    const hook = HOOK_ROUTE.exec(path);
    if (hook && request.method === 'POST') {
      const event = toApiGatewayEvent(
        request,
        body,
        {
          routeKey: 'POST /hooks/{orgId}/{secret}',
          pathParameters: { orgId: decode(hook[1] ?? ''), secret: decode(hook[2] ?? '') },
        },
        options.clock(),
      );
      const result = await app.receiver(event);
      return writeProxyResult(response, result);
    }

    const invoke = INVOKE_ROUTE.exec(path);
    if (invoke && request.method === 'POST') {
      return adminInvoke(app, invoke[1] ?? '', request, body, response);
    }
    if (app.console && (path === '/console' || path.startsWith('/console/'))) {
      return app.console(request, response, body);
    }
    // what an HTTP API answers for a route it does not have
    return json(response, 404, { message: 'Not Found' });
  };

  await new Promise<void>((done, fail) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        fail(
          new LocalModeError(
            'PORT_IN_USE',
            `Port ${options.port} is already in use: stop the program using it, or start on another port (PORT=${options.port + 1} npm start).`,
            { cause: error },
          ),
        );
      } else if (error.code === 'EACCES') {
        fail(
          new LocalModeError(
            'PORT_IN_USE',
            `Port ${options.port} needs privileges this user does not have: choose a port above 1023 (PORT=3000 npm start).`,
            { cause: error },
          ),
        );
      } else fail(error);
    };
    const onListening = () => {
      server.off('error', onError);
      done();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.port, host);
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    serve(next) {
      app = next;
    },
    close(graceMs = 5_000) {
      stopping = true;
      return new Promise<void>((done) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          done();
        });
        server.closeIdleConnections();
      });
    },
  };
}

/**
 * `POST /_local/invoke/<function>`: only from loopback, with a loopback `Host` (no DNS
 * rebinding), not through a proxy or tunnel (no forwarding headers), and only with a JSON
 * body (a browser cannot send one cross-site without a preflight we never answer). Answers as
 * Lambda Invoke does: 200 with the function's JSON result, or 200 with
 * `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage}` when it threw.
 */
async function adminInvoke(
  app: LocalApp,
  functionName: string,
  request: IncomingMessage,
  body: Buffer,
  response: ServerResponse,
): Promise<void> {
  const remote = request.socket.remoteAddress ?? '';
  const forwarded =
    request.headers.forwarded !== undefined || request.headers['x-forwarded-for'] !== undefined;
  if (
    !LOOPBACK_ADDRESSES.has(remote) ||
    forwarded ||
    !LOOPBACK_HOST.test(request.headers.host ?? '')
  ) {
    return json(response, 403, { message: 'The local admin API answers loopback callers only.' });
  }
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    return json(response, 415, { message: 'Send the event as application/json.' });
  }
  if (!app.functionNames().includes(functionName)) {
    return json(response, 404, {
      message: `No local function ${functionName}; available: ${app.functionNames().join(', ')}.`,
    });
  }
  let event: unknown;
  try {
    event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return json(response, 400, { message: 'The body is not valid JSON.' });
  }
  try {
    const result = await app.invoke(functionName, event);
    return json(response, 200, result ?? null);
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    return json(
      response,
      200,
      { errorType: err.name, errorMessage: scrubSecrets(err.message) },
      { 'x-amz-function-error': 'Unhandled' },
    );
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // read to the end even past the limit, so the 413 reaches a client still sending
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
  }
  return size > MAX_REQUEST_BYTES ? undefined : Buffer.concat(chunks);
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}
