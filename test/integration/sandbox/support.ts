import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sandbox } from '../../../local/tallyfy-sandbox/index.ts';

export const API_HEADERS = { 'x-tallyfy-client': 'APIClient', accept: 'application/json' };

/** A clock the test moves by hand. */
export function manualClock(startIso = '2026-11-22T12:00:00.000Z') {
  let now = Date.parse(startIso);
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

export async function tokenRequest(
  sandbox: Sandbox,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(sandbox.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function passwordGrant(sandbox: Sandbox, who = sandbox.demo.admin) {
  const { status, body } = await tokenRequest(sandbox, {
    grant_type: 'password',
    client_id: sandbox.demo.passwordClient.clientId,
    client_secret: sandbox.demo.passwordClient.clientSecret,
    username: who.email,
    password: who.password,
  });
  if (status !== 200) throw new Error(`password grant failed: ${status}`);
  return body as { access_token: string; refresh_token: string; expires_in: number };
}

export async function api(
  sandbox: Sandbox,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, asserted field by field
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...API_HEADERS, ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export interface Received {
  headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: webhook bodies, asserted field by field
  body: any;
}

/** A webhook receiver on port 0 that records what it gets. */
export async function startReceiver(status = 200) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/org/secret-part`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The nested key structure of a JSON value (objects by key, arrays by their first item). */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shapeOf((value as Record<string, unknown>)[k])]),
    );
  }
  return value === null ? 'null' : typeof value;
}
