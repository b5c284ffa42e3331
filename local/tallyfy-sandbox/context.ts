import type { SandboxStore } from './store.ts';
import type { TokenRegistry } from './tokens.ts';
import type { SandboxStats } from './types.ts';
import type { WebhookDispatcher } from './webhooks.ts';

/** An answer before it is written: JSON body (or none), extra headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Lifetimes {
  accessSeconds: number;
  refreshSeconds: number;
  appUserSeconds: number;
}

/** What every part of the sandbox shares. */
export interface SandboxContext {
  store: SandboxStore;
  tokens: TokenRegistry;
  clock: () => number;
  lifetimes: Lifetimes;
  refreshTokenReuse: 'invalid_grant' | 'invalid_request_401';
  refreshTokenReuseRevokesFamily: boolean;
  stats: SandboxStats;
  webhooks: WebhookDispatcher;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return headers ? { status, body, headers } : { status, body };
}

export function notFound(what = 'Not found.'): Reply {
  return { status: 404, body: { message: what } };
}

/** Laravel's validation answer. */
export function unprocessable(errors: Record<string, string[]>): Reply {
  return { status: 422, body: { message: 'The given data was invalid.', errors } };
}

export function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}
