import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sleep } from '../../shared/async.ts';
import { type LocalRequestHandler, readBody, sendJson } from '../http.ts';
import type { ActionCapLimiter } from './action-caps.ts';
import { type AdminPorts, handleAdmin } from './admin.ts';
import { authenticate, memberOf } from './auth.ts';
import { count, type Reply, type SandboxContext } from './context.ts';
import type { FaultTable } from './faults.ts';
import { handleTokenRequest } from './oauth.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { Router } from './router.ts';
import type { Fault } from './types.ts';

const UNAUTHENTICATED: Reply = { status: 401, body: { message: 'Unauthenticated.' } };
const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerParts {
  ctx: SandboxContext;
  router: Router;
  faults: FaultTable;
  limiter: RateLimiter;
  caps: ActionCapLimiter;
  admin: AdminPorts;
  latencyMs: () => number;
  log: ((line: string) => void) | undefined;
  /** Makes the request's changes durable before its answer is written (persistence). */
  commit?: (() => Promise<void>) | undefined;
}

const TOO_LARGE: Reply = {
  status: 413,
  body: { message: 'Payload too large.' },
  headers: { connection: 'close' },
};
const SERVER_ERROR: Reply = { status: 500, body: { message: 'Server Error' } };

function parseJsonBody(raw: string): { ok: true; value: unknown } | { ok: false } {
  if (raw.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    // the caller answers 400, as Tallyfy does for a body that is not JSON
    return { ok: false };
  }
}

function write(res: ServerResponse, reply: Reply): void {
  if (reply.body !== undefined) {
    sendJson(res, reply.status, reply.body, reply.headers);
    return;
  }
  res.writeHead(reply.status, { ...reply.headers, 'content-length': 0 });
  res.end();
}

/**
 * What a server of the sandbox answers. As in production, the token endpoint has an origin of
 * its own (`account.tallyfy.com` beside `go.tallyfy.com/api`): the API server has no
 * `/api/oauth/token` (a client that derives the token URL from the API base gets the API's 401,
 * not a token), and the token server answers `POST /oauth/token` only.
 */
export type SandboxServerRole = 'api' | 'token';

/** Latency, then the first injected fault that applies; `null` answer means "hang or reset". */
async function delayAndFault(
  parts: ServerParts,
  req: IncomingMessage,
  method: string,
  faultPath: string,
): Promise<Reply | null | undefined> {
  const latency = parts.latencyMs();
  if (latency > 0) await sleep(latency);
  const fault = parts.faults.take(method, faultPath);
  return fault ? injected(parts, req, fault) : undefined;
}

/** The answer of an injected fault; `null` for a reset or a hang. */
function injected(parts: ServerParts, req: IncomingMessage, fault: Fault): Reply | null {
  parts.ctx.stats.faultsInjected++;
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

/** `POST /oauth/token` on the token server's origin; faults match the path `/oauth/token`. */
async function dispatchToken(
  parts: ServerParts,
  req: IncomingMessage,
  url: URL,
): Promise<Reply | null> {
  const method = req.method ?? 'GET';
  if (url.pathname !== '/oauth/token') return { status: 404, body: { message: 'Not found.' } };
  const faulted = await delayAndFault(parts, req, method, '/oauth/token');
  if (faulted !== undefined) return faulted;
  const rawBody = await readBody(req, MAX_BODY_BYTES);
  if (rawBody === undefined) return TOO_LARGE;
  count(parts.ctx.stats.requests, `${method} /oauth/token`);
  if (method !== 'POST') return { status: 405, body: { message: 'Method not allowed.' } };
  return handleTokenRequest(parts.ctx, req.headers['content-type'], rawBody.toString('utf8'));
}

/**
 * The HTTP handler of one of the sandbox's servers: request ids, latency, faults, then the
 * token endpoint (`role: 'token'`) or auth, routes and admin routes (`role: 'api'`).
 */
export function createSandboxHandler(
  parts: ServerParts,
  role: SandboxServerRole = 'api',
): LocalRequestHandler {
  const { ctx, router, limiter, admin, log } = parts;
  const idPrefix = randomBytes(4).toString('hex');
  let sequence = 0;

  async function dispatch(req: IncomingMessage, url: URL): Promise<Reply | null> {
    if (role === 'token') return dispatchToken(parts, req, url);
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (path.startsWith('/_sandbox/')) {
      const raw = await readBody(req, MAX_BODY_BYTES);
      if (raw === undefined) return TOO_LARGE;
      const body = parseJsonBody(raw.toString('utf8'));
      return handleAdmin(method, path, body.ok ? body.value : undefined, admin);
    }
    if (path !== '/api' && !path.startsWith('/api/')) {
      return { status: 404, body: { message: 'Not found.' } };
    }
    const apiPath = path.slice(4) || '/';

    const faulted = await delayAndFault(parts, req, method, apiPath);
    if (faulted !== undefined) return faulted;

    const rawBody = await readBody(req, MAX_BODY_BYTES);
    if (rawBody === undefined) return TOO_LARGE;
    const raw = rawBody.toString('utf8');
    const nowMs = ctx.clock();

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

    if (route.pattern === '/organizations/:org/tasks/:task/comment' && method === 'POST') {
      const cap = parts.caps.comment(orgId ?? '', nowMs);
      if (!cap.allowed) {
        ctx.stats.rateLimited++;
        const omit = parts.caps.config !== false && parts.caps.config.omitRetryAfter === true;
        return {
          status: 429,
          body: {
            code: 'RATE_LIMIT_EXCEEDED',
            message: 'Too many comments in this organization: the hourly limit is reached.',
          },
          headers: {
            ...rateHeaders,
            ...(omit ? {} : { 'retry-after': String(cap.retryAfterSeconds) }),
          },
        };
      }
    }

    let body: unknown;
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const parsed = parseJsonBody(raw);
      if (!parsed.ok)
        return { status: 400, body: { message: 'The request body is not valid JSON.' } };
      body = parsed.value;
    }
    const handled = await route.handler({
      sandbox: ctx,
      params,
      query: url.searchParams,
      body,
      principal,
      org,
      selfUrl: url,
      nowMs,
    });
    // a fault "after": the request took effect, and its answer is lost or replaced
    const late = handled.status < 300 ? parts.faults.take(method, apiPath, 'after') : undefined;
    const reply = late ? injected(parts, req, late) : handled;
    if (reply === null) return null;
    return decision ? { ...reply, headers: { ...rateHeaders, ...reply.headers } } : reply;
  }

  return async (req, res) => {
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
    let reply: Reply | null;
    try {
      reply = await dispatch(req, url);
      // the sandbox's state is on disk before Tallyfy's answer leaves (local mode)
      await parts.commit?.();
    } catch (error) {
      write(res, SERVER_ERROR);
      finish(500);
      log?.(`sandbox error ${requestId}: ${error instanceof Error ? error.message : 'unknown'}`);
      return;
    }
    if (reply === null) {
      finish(req.socket.destroyed ? 'reset' : 'hang');
      return;
    }
    write(res, reply);
    finish(reply.status);
  };
}
