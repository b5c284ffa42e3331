/**
 * The console as one request handler: security checks first (loopback, URL token, CSRF on
 * POST), then the route, then the answer with the security headers. The CLI's `console`
 * command serves it on its own loopback server; local mode mounts it at `/console` of its
 * HTTP server. Both build it over a {@link Target}: the CLI's target code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname, userInfo } from 'node:os';
import { sanitizeError } from '../../shared/observability/index.ts';
import { CliError } from '../errors.ts';
import type { Target } from '../target/index.ts';
import {
  type ActionEntry,
  type ConsoleContext,
  ConsoleInputError,
  type ConsoleLog,
  type ConsoleRequest,
  type ConsoleResponse,
} from './context.ts';
import { createDeadLetterSnapshots } from './dlq-snapshot.ts';
import { html } from './html.ts';
import { CONSOLE_CSS, page } from './layout.ts';
import { createNotices } from './notices.ts';
import { activityPage } from './pages/activity.ts';
import {
  confirmReplayPage,
  deadLettersPage,
  letterPage,
  replayPage,
  startReplay,
} from './pages/dead-letters.ts';
import { eventsPage } from './pages/events.ts';
import { orgsPage, refreshOrg } from './pages/orgs.ts';
import { orgReportPage, reportFile, reportsPage, runReport } from './pages/reports.ts';
import { dryRunPage, rulesPage } from './pages/rules.ts';
import { createReplayJobs } from './replay-jobs.ts';
import {
  type ConsoleSecrets,
  checkCsrf,
  checkLoopback,
  consoleOrigins,
  newConsoleSecrets,
  REPORT_PAGE_HEADERS,
  type Refusal,
  SECURITY_HEADERS,
  sameSecret,
} from './security.ts';

/** Largest form body taken (a pasted dry-run payload is at most 256 KiB). */
const MAX_FORM_BYTES = 512 * 1024;

/** Options of {@link createConsole}. */
export interface ConsoleOptions {
  /** What the console operates (`resolveTarget`). */
  target: Target;
  /** The loopback port the console is served on (the `Host` check). */
  port: number;
  /** Path prefix of every console URL. @default '/console' */
  mount?: string;
  /** Where actions and failures are logged. */
  log: ConsoleLog;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** The per-start secrets. @default new random ones */
  secrets?: ConsoleSecrets;
  /** How long a DLQ sweep serves the pages. @default 30000 */
  deadLetterSnapshotMs?: number;
}

export interface OperatorConsole {
  /** `<mount>`, e.g. `/console`. */
  readonly mount: string;
  /** The link to print: `<origin><mount>/<token>/`. */
  url(origin: string): string;
  /**
   * Answers a request whose path is under the mount (`<mount>` or `<mount>/…`). `body` is the
   * request body when the caller has read it already (local mode's server reads every body).
   */
  handle(request: IncomingMessage, response: ServerResponse, body?: Buffer): Promise<void>;
}

/**
 * Builds the console over a target.
 *
 * @example
 * const console = createConsole({ target, port, log });
 * server.on('request', (req, res) => console.handle(req, res));
 * process.stdout.write(console.url(`http://127.0.0.1:${port}`));
 */
export function createConsole(options: ConsoleOptions): OperatorConsole {
  const mount = (options.mount ?? '/console').replace(/\/+$/, '');
  const secrets = options.secrets ?? newConsoleSecrets();
  const clock = options.clock ?? Date.now;
  const { target, log } = options;
  const origins = consoleOrigins(options.port);
  const base = `${mount}/${secrets.urlToken}`;
  const dlq = createDeadLetterSnapshots({
    target,
    clock,
    ...(options.deadLetterSnapshotMs === undefined
      ? {}
      : { maxAgeMs: options.deadLetterSnapshotMs }),
  });
  const actions: ActionEntry[] = [];
  let operator: Promise<string> | undefined;
  const ctx: ConsoleContext = {
    target,
    base,
    secrets,
    clock,
    log,
    dlq,
    jobs: createReplayJobs({ target, clock, log, onFinished: () => dlq.invalidate() }),
    notices: createNotices(),
    operator() {
      operator ??= target.operator().catch((error: unknown) => {
        operator = undefined;
        log.warn('could not tell who operates; actions name the local user', {
          error: sanitizeError(error),
        });
        return `${userInfo().username}@${hostname()}`;
      });
      return operator;
    },
    async recordAction(entry) {
      const full: ActionEntry = {
        at: new Date(clock()).toISOString(),
        by: await ctx.operator(),
        ...entry,
      };
      actions.unshift(full);
      actions.length = Math.min(actions.length, 200);
      log.info('console action', { ...full });
    },
    actions: () => actions,
  };

  return {
    mount,
    url: (origin) => `${origin.replace(/\/+$/, '')}${base}/`,
    async handle(request, response, body) {
      const started = clock();
      const url = new URL(request.url ?? '/', 'http://console.invalid');
      // never log the token
      const shown = url.pathname.replace(secrets.urlToken, '…');
      try {
        const refusal = checkLoopback(request, options.port);
        if (refusal !== undefined) return refuse(response, refusal);
        const rest = url.pathname.slice(mount.length).split('/').filter(Boolean);
        const [token, ...segments] = rest;
        if (token === undefined || !sameSecret(token, secrets.urlToken)) {
          return refuse(response, {
            status: 403,
            message:
              'This console link is not valid: use the link printed when the console started.',
          });
        }
        const method = request.method === 'HEAD' ? 'GET' : request.method;
        if (method !== 'GET' && method !== 'POST') {
          return refuse(response, { status: 405, message: 'Only GET and POST.' });
        }
        let form = new URLSearchParams();
        if (method === 'POST') {
          if (
            !/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')
          ) {
            return refuse(response, { status: 415, message: 'Actions are HTML form posts.' });
          }
          const raw = body ?? (await readBody(request));
          if (raw === undefined)
            return refuse(response, { status: 413, message: 'The form is too large.' });
          form = new URLSearchParams(raw.toString('utf8'));
          const csrf = checkCsrf(request, form, secrets, origins);
          if (csrf !== undefined) {
            log.warn('console action refused', { path: shown, reason: csrf.message });
            return refuse(response, csrf);
          }
        }
        const decoded = segments.map((segment) => {
          try {
            return decodeURIComponent(segment);
          } catch {
            return segment;
          }
        });
        const answer = await route(ctx, {
          method,
          segments: decoded,
          query: url.searchParams,
          form,
        });
        write(response, answer, request.method === 'HEAD');
        log.debug('console request', {
          method: request.method,
          path: shown,
          status:
            answer.kind === 'redirect'
              ? 303
              : answer.kind === 'page'
                ? (answer.status ?? 200)
                : 200,
          ms: clock() - started,
        });
      } catch (error) {
        const answer = failure(ctx, error, shown);
        if (!response.headersSent) write(response, answer, request.method === 'HEAD');
        else response.destroy();
      }
    },
  };
}

async function route(ctx: ConsoleContext, request: ConsoleRequest): Promise<ConsoleResponse> {
  const { method, segments } = request;
  const [first, second, third, ...more] = segments;
  const only = (allowed: 'GET' | 'POST', handler: () => Promise<ConsoleResponse>) =>
    method === allowed ? handler() : Promise.resolve(methodNotAllowed(ctx, allowed));
  switch (first) {
    case undefined:
      return { kind: 'redirect', location: `${ctx.base}/orgs` };
    case 'assets':
      if (second === 'console.css' && third === undefined) {
        return { kind: 'file', contentType: 'text/css; charset=utf-8', body: CONSOLE_CSS };
      }
      break;
    case 'orgs':
      if (second === undefined) return only('GET', () => orgsPage(ctx, request));
      if (third === 'refresh' && more.length === 0) {
        return only('POST', () => refreshOrg(ctx, request, second));
      }
      break;
    case 'events':
      if (second === undefined) return only('GET', () => eventsPage(ctx, request));
      break;
    case 'dead-letters':
      if (second === undefined) return only('GET', () => deadLettersPage(ctx, request));
      if (second === 'letter' && third !== undefined && more.length === 0) {
        return only('GET', () => letterPage(ctx, third));
      }
      if (second === 'replay' && third === undefined) {
        return method === 'GET' ? confirmReplayPage(ctx, request) : startReplay(ctx, request);
      }
      break;
    case 'replays':
      if (second !== undefined && third === undefined)
        return only('GET', () => replayPage(ctx, second));
      break;
    case 'rules':
      if (second === undefined) return only('GET', () => rulesPage(ctx, request));
      if (third === 'test' && more.length === 0) return dryRunPage(ctx, request, second);
      break;
    case 'reports':
      if (second === undefined) return only('GET', () => reportsPage(ctx, request));
      if (third === undefined) return only('GET', () => orgReportPage(ctx, request, second));
      if (third === 'run' && more.length === 0) return only('POST', () => runReport(ctx, second));
      break;
    case 'files':
      if (second === 'reports' && third !== undefined && more.length === 2) {
        return only('GET', () => reportFile(ctx, third, more[0] as string, more[1] as string));
      }
      break;
    case 'activity':
      if (second === undefined) return only('GET', () => activityPage(ctx, request));
      break;
  }
  throw new ConsoleInputError('There is no such page in the console.', 404);
}

function methodNotAllowed(ctx: ConsoleContext, allowed: string): ConsoleResponse {
  return errorPage(ctx, 405, `This address takes ${allowed} only.`);
}

function errorPage(
  ctx: ConsoleContext,
  status: number,
  message: string,
  hint?: string,
): ConsoleResponse {
  return {
    kind: 'page',
    status,
    body: page(
      {
        base: ctx.base,
        targetLabel: ctx.target.label,
        section: 'orgs',
        title: status >= 500 ? 'Something failed' : 'Not possible',
      },
      html`<p class="notice error" data-error-status="${status}">${message}</p>${hint === undefined ? '' : html`<p class="hint">${hint}</p>`}<p><a href="${ctx.base}/orgs">← orgs</a></p>`,
    ),
  };
}

function failure(ctx: ConsoleContext, error: unknown, path: string): ConsoleResponse {
  if (error instanceof ConsoleInputError) return errorPage(ctx, error.status, error.message);
  if (error instanceof CliError) {
    ctx.log.warn('console request failed', { path, code: error.code, message: error.message });
    return errorPage(ctx, error.exitCode === 6 ? 503 : 502, error.message, error.hint);
  }
  ctx.log.error('console request failed', { path, error: sanitizeError(error) });
  return errorPage(ctx, 500, 'The console could not answer this page. Its log has the error.');
}

function refuse(response: ServerResponse, refusal: Refusal): void {
  const text = `${refusal.message}\n`;
  response.writeHead(refusal.status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

function write(response: ServerResponse, answer: ConsoleResponse, head: boolean): void {
  if (answer.kind === 'redirect') {
    response.writeHead(303, {
      ...SECURITY_HEADERS,
      location: answer.location,
      'content-length': '0',
    });
    response.end();
    return;
  }
  const body =
    answer.kind === 'page' ? Buffer.from(answer.body.toString()) : Buffer.from(answer.body);
  const headers: Record<string, string> = {
    ...(answer.kind === 'file' && answer.reportPage === true
      ? REPORT_PAGE_HEADERS
      : SECURITY_HEADERS),
    'content-type': answer.kind === 'page' ? 'text/html; charset=utf-8' : answer.contentType,
    'content-length': String(body.length),
  };
  if (answer.kind === 'file' && answer.fileName !== undefined) {
    headers['content-disposition'] = `attachment; filename="${answer.fileName}"`;
  }
  response.writeHead(answer.kind === 'page' ? (answer.status ?? 200) : 200, headers);
  response.end(head ? undefined : body);
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_FORM_BYTES) chunks.push(chunk);
  }
  return size > MAX_FORM_BYTES ? undefined : Buffer.concat(chunks);
}
