import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AdminPorts, handleAdmin } from './admin.ts';
import { authenticate, memberOf } from './auth.ts';
import { count, type Reply, type SandboxContext } from './context.ts';
import type { FaultTable } from './faults.ts';
import { handleTokenRequest } from './oauth.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { Router } from './router.ts';

const UNAUTHENTICATED: Reply = { status: 401, body: { message: 'Unauthenticated.' } };
const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerParts {
  ctx: SandboxContext;
  router: Router;
  faults: FaultTable;
  limiter: RateLimiter;
  admin: AdminPorts;
  latencyMs: () => number;
  log: ((line: string) => void) | undefined;
  /** Makes the request's changes durable before its answer is written (persistence). */
  commit?: (() => Promise<void>) | undefined;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonBody(raw: string): { ok: true; value: unknown } | { ok: false } {
  if (raw.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

function write(res: ServerResponse, reply: Reply): void {
  const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
  const headers: Record<string, string | number> = { ...reply.headers };
  if (payload !== '') headers['content-type'] = 'application/json';
  headers['content-length'] = Buffer.byteLength(payload);
  res.writeHead(reply.status, headers);
  res.end(payload);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The HTTP server: request ids, latency, faults, token endpoint, auth, routes, admin. */
export function createSandboxServer(parts: ServerParts): Server {
  const { ctx, router, faults, limiter, admin, log } = parts;
  const idPrefix = randomBytes(4).toString('hex');
  let sequence = 0;

  async function dispatch(req: IncomingMessage, url: URL): Promise<Reply | null> {
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (path.startsWith('/_sandbox/')) {
      const raw = await readBody(req);
      const body = parseJsonBody(raw);
      return handleAdmin(method, path, body.ok ? body.value : undefined, admin);
    }
    if (path !== '/api' && !path.startsWith('/api/')) {
      return { status: 404, body: { message: 'Not found.' } };
    }
    const apiPath = path.slice(4) || '/';

    const latency = parts.latencyMs();
    if (latency > 0) await sleep(latency);

    const fault = faults.take(method, apiPath);
    if (fault) {
      ctx.stats.faultsInjected++;
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return null;
      }
      if (fault.kind === 'hang') return null;
      const status = fault.status ?? 500;
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined)
        headers['retry-after'] = String(fault.retryAfterSeconds);
      if (status === 429) headers['x-ratelimit-remaining'] = '0';
      return { status, body: fault.body ?? { message: 'Injected fault.' }, headers };
    }

    const raw = await readBody(req);
    const nowMs = ctx.clock();

    if (apiPath === '/oauth/token') {
      count(ctx.stats.requests, `${method} /oauth/token`);
      if (method !== 'POST') return { status: 405, body: { message: 'Method not allowed.' } };
      return handleTokenRequest(ctx, req.headers['content-type'], raw);
    }

    const match = router.match(method, apiPath);
    count(
      ctx.stats.requests,
      match && 'route' in match ? `${method} ${match.route.pattern}` : `${method} (unmatched)`,
    );

    const principal = authenticate(
      ctx,
      {
        authorization: req.headers.authorization,
        client: req.headers['x-tallyfy-client'] as string | undefined,
      },
      nowMs,
    );
    if (!principal) return UNAUTHENTICATED;
    if (!match) return { status: 404, body: { message: 'Not found.' } };
    if ('methodNotAllowed' in match)
      return { status: 405, body: { message: 'Method not allowed.' } };
    const { route, params } = match;
    if (route.scope === 'user' && principal.kind !== 'user') return UNAUTHENTICATED;
    if (route.scope === 'app' && principal.kind !== 'client') return UNAUTHENTICATED;

    const orgId = params.org;
    let org: ReturnType<typeof ctx.store.orgs.get>;
    if (orgId !== undefined) {
      if (!memberOf(ctx, principal, orgId)) {
        return { status: 403, body: { message: 'This action is unauthorized.' } };
      }
      org = ctx.store.orgs.get(orgId);
      if (!org) return { status: 404, body: { message: 'Organization not found.' } };
    }

    const token = (req.headers.authorization ?? '').slice(7);
    const decision = limiter.check(`${orgId ?? '-'}\u0000${token}`, nowMs);
    const rateHeaders: Record<string, string> = {};
    if (decision) {
      rateHeaders['x-ratelimit-limit'] = String(decision.limit);
      if (!decision.allowed) {
        ctx.stats.rateLimited++;
        return {
          status: 429,
          body: { message: 'Too Many Attempts.' },
          headers: {
            ...rateHeaders,
            'retry-after': String(decision.retryAfterSeconds),
            'x-ratelimit-remaining': '0',
          },
        };
      }
      rateHeaders['x-ratelimit-remaining'] = String(decision.remaining);
    }

    let body: unknown;
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const parsed = parseJsonBody(raw);
      if (!parsed.ok)
        return { status: 400, body: { message: 'The request body is not valid JSON.' } };
      body = parsed.value;
    }
    const reply = await route.handler({
      sandbox: ctx,
      params,
      query: url.searchParams,
      body,
      principal,
      org,
      selfUrl: url,
      nowMs,
    });
    return decision ? { ...reply, headers: { ...rateHeaders, ...reply.headers } } : reply;
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    const startedAt = performance.now();
    const requestId = `${idPrefix}-${(++sequence).toString(36)}`;
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const finish = (status: number | string) => {
      // path only: the query and headers never reach the log
      log?.(
        `${req.method} ${url.pathname} ${status} ${(performance.now() - startedAt).toFixed(1)}ms ${requestId}`,
      );
    };
    dispatch(req, url)
      .then(async (reply) => {
        await parts.commit?.();
        return reply;
      })
      .then(
        (reply) => {
          if (reply === null) {
            finish(req.socket.destroyed ? 'reset' : 'hang');
            return;
          }
          write(res, reply);
          finish(reply.status);
        },
        (error: unknown) => {
          if (error instanceof BodyTooLarge) {
            write(res, {
              status: 413,
              body: { message: 'Payload too large.' },
              headers: { connection: 'close' },
            });
            finish(413);
            return;
          }
          write(res, { status: 500, body: { message: 'Server Error' } });
          finish(500);
          log?.(
            `sandbox error ${requestId}: ${error instanceof Error ? error.message : 'unknown'}`,
          );
        },
      );
  });
  server.keepAliveTimeout = 65_000;
  return server;
}
