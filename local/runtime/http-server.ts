/**
 * Local mode's HTTP server: what API Gateway does in AWS for `POST /hooks/{orgId}/{secret}`,
 * plus `GET /health` and the loopback-only admin route `POST /_local/invoke/<function>` (what
 * Lambda Invoke does for the CLI in AWS).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { scrubSecrets } from '../../shared/observability/index.ts';
import { type LocalServer, readBody, sendJson, startLocalServer } from '../http.ts';
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
  /**
   * Why requests cannot be served now (an engine is down), or `undefined`. Then /health answers
   * 503 and webhooks 503: nothing is acknowledged that could not be stored and marked.
   */
  unavailable?(): string | undefined;
  /** The operator console (bin/console), served under `/console`; it checks its own access. */
  console?(request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<void>;
}

export interface LocalHttpServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Starts serving `app`; until then every route but /health answers 503. */
  serve(app: LocalApp): void;
  /** Webhook requests being handled now. */
  webhooksInFlight(): number;
  /**
   * Stops accepting (new requests on open connections get 503), lets requests in flight finish
   * (up to `graceMs`), then closes. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Binds the port first, so a port in use fails in milliseconds, before any engine starts.
 * @throws LocalModeError `LOCAL_PORT_IN_USE` with the one-line fix
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
  let hooksInFlight = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://local');
    const path = url.pathname;
    if (path === '/health') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return sendJson(response, 405, { message: 'Method Not Allowed' }, { allow: 'GET' });
      }
      if (stopping) return sendJson(response, 503, { status: 'stopping' });
      if (!app) return sendJson(response, 503, { status: 'starting' });
      const down = app.unavailable?.();
      if (down !== undefined) {
        return sendJson(response, 503, { status: 'unavailable', reason: down, ...app.health() });
      }
      return sendJson(response, 200, { status: 'ok', ...app.health() });
    }
    if (!app || stopping) {
      return sendJson(response, 503, { message: stopping ? 'Stopping' : 'Starting' });
    }
    const down = app.unavailable?.();
    if (down !== undefined) {
      // the receiver's own 503 body: the sender may send it again later
      await readBody(request, 0);
      return sendJson(
        response,
        503,
        {
          error: {
            code: 'WEBHOOKS_UNAVAILABLE',
            message: 'The event could not be stored and was not accepted; send it again.',
          },
        },
        { 'retry-after': '5' },
      );
    }
    const body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === undefined) return sendJson(response, 413, { message: 'Request Entity Too Large' });

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
      hooksInFlight += 1;
      try {
        const result = await app.receiver(event);
        return writeProxyResult(response, result);
      } finally {
        hooksInFlight -= 1;
      }
    }

    const invoke = INVOKE_ROUTE.exec(path);
    if (invoke && request.method === 'POST') {
      return adminInvoke(app, invoke[1] ?? '', request, body, response);
    }
    if (app.console && (path === '/console' || path.startsWith('/console/'))) {
      return app.console(request, response, body);
    }
    // what an HTTP API answers for a route it does not have
    return sendJson(response, 404, { message: 'Not Found' });
  };

  let local: LocalServer;
  try {
    local = await startLocalServer(handle, {
      port: options.port,
      host,
      onError: (error) => options.onError('local HTTP request failed', error),
      failureAnswer: () => ({ status: 500, body: { message: 'Internal Server Error' } }),
    });
  } catch (error) {
    throw portError(options.port, error);
  }
  const { port } = local;
  let closing: Promise<void> | undefined;

  return {
    port,
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    serve(next) {
      app = next;
    },
    webhooksInFlight: () => hooksInFlight,
    close(graceMs = 5_000) {
      stopping = true;
      closing ??= local.close(graceMs);
      return closing;
    },
  };
}

/** A bind failure in one line a user can act on. */
function portError(port: number, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return new LocalModeError(
      'LOCAL_PORT_IN_USE',
      `Port ${port} is already in use: stop the program using it, or start on another port (PORT=${port + 1} npm start).`,
      { cause: error },
    );
  }
  if (code === 'EACCES') {
    return new LocalModeError(
      'LOCAL_PORT_IN_USE',
      `Port ${port} needs privileges this user does not have: choose a port above 1023 (PORT=3000 npm start).`,
      { cause: error },
    );
  }
  return error;
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
    return sendJson(response, 403, {
      message: 'The local admin API answers loopback callers only.',
    });
  }
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    return sendJson(response, 415, { message: 'Send the event as application/json.' });
  }
  if (!app.functionNames().includes(functionName)) {
    return sendJson(response, 404, {
      message: `No local function ${functionName}; available: ${app.functionNames().join(', ')}.`,
    });
  }
  let event: unknown;
  try {
    event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return sendJson(response, 400, { message: 'The body is not valid JSON.' });
  }
  try {
    const result = await app.invoke(functionName, event);
    return sendJson(response, 200, result ?? null);
  } catch (error) {
    // what Lambda Invoke answers for a function error: its type and message, no stack
    const errorType = error instanceof Error ? error.name : 'Error';
    const errorMessage = error instanceof Error ? error.message : String(error);
    return sendJson(
      response,
      200,
      { errorType, errorMessage: scrubSecrets(errorMessage) },
      { 'x-amz-function-error': 'Unhandled' },
    );
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // a malformed %-escape: API Gateway passes the segment on as it is, and so do we
    return segment;
  }
}
