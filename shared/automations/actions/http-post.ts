import type * as z from 'zod';
import type { JsonObject } from '../../orgs/index.ts';
import { parseRetryAfterMs } from '../../tallyfy/index.ts';
import { HttpPostError } from '../failures.ts';
import type { httpPostSchema } from '../rule-schema.ts';
import { signatureHeaders } from '../signing.ts';
import { renderValue } from '../template.ts';
import type { ActionEnv, PreparedAction } from './types.ts';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * What an attempt in doubt of an action that cannot look does: send it again (`retry`, the
 * default), or hand the choice to the operator (`dead_letter`; `skip`, its former name, no
 * longer drops the action silently).
 */
export function doubtPolicy(onDoubt: 'retry' | 'dead_letter' | 'skip' | undefined) {
  return onDoubt === 'dead_letter' || onDoubt === 'skip' ? 'dead_letter' : 'retry';
}

/** The default body: the event view without the raw payload. */
export function defaultDocument(env: ActionEnv): Record<string, unknown> {
  const { event, task, process, template, fields } = env.view;
  return { event, task, process, template, fields };
}

export function prepareHttpPost(
  action: z.infer<typeof httpPostSchema>,
  env: ActionEnv,
): PreparedAction {
  const url = new URL(action.url);
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new HttpPostError(`http_post: ${url.origin} is plain http; only https is allowed`, {
      failure: 'status',
      status: 400,
    });
  }
  const body = JSON.stringify(
    action.body === undefined ? defaultDocument(env) : renderValue(action.body, env.context),
  );
  const extraHeaders = (
    action.headers === undefined ? {} : renderValue(action.headers, env.context)
  ) as Record<string, unknown>;
  const timeoutMs = action.timeoutMs ?? 10_000;

  return {
    // no way to ask the receiver whether it got the earlier attempt: it is sent again with the
    // same `Idempotency-Key` and `webhook-id`, for the receiver to dedupe by
    onDoubt: doubtPolicy(action.onDoubt),
    async perform(): Promise<JsonObject> {
      const secret = await env.secrets.get(action.secret);
      const timestamp = Math.floor(env.clock() / 1000);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(extraHeaders)) headers[name] = String(value);
      Object.assign(headers, {
        'content-type': 'application/json',
        'user-agent': 'tallyfy-serverless-automations',
        // the same on every attempt of this (event, rule, action): IETF httpapi's idempotency key
        'idempotency-key': env.marker,
        ...signatureHeaders(secret, env.marker, timestamp, body),
      });
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const code = String((error as { cause?: { code?: unknown } }).cause?.code ?? '');
        const failure =
          (error as Error).name === 'TimeoutError'
            ? 'timeout'
            : code === 'ECONNREFUSED' || code === 'ENOTFOUND'
              ? 'refused'
              : 'network';
        throw new HttpPostError(`http_post to ${url.origin} got no answer (${failure})`, {
          failure,
          cause: new Error(code || (error as Error).name),
        });
      }
      // the answer's body is never read: free the connection; a failed cancel changes nothing
      await response.body?.cancel().catch(() => undefined);
      if (response.status < 200 || response.status >= 300) {
        throw new HttpPostError(`http_post to ${url.origin} answered ${response.status}`, {
          failure: 'status',
          status: response.status,
          retryAfterMs: parseRetryAfterMs(
            response.headers.get('retry-after') ?? undefined,
            env.clock(),
          ),
        });
      }
      return { status: response.status, webhookId: env.marker };
    },
  };
}
