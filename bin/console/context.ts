/** What every console route gets, and what it answers. */
import type * as z from 'zod';
import type { Target } from '../target/index.ts';
import type { DeadLetterSnapshots } from './dlq-snapshot.ts';
import type { Html } from './html.ts';
import type { Notices } from './notices.ts';
import type { ReplayJobs } from './replay-jobs.ts';
import type { ConsoleSecrets } from './security.ts';

/** Where actions and failures are written (structured; never a secret, never the URL token). */
export interface ConsoleLog {
  debug(message: string, fields: Record<string, unknown>): void;
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/** One action an operator took, as the Activity page lists it. */
export interface ActionEntry {
  at: string;
  by: string;
  action: string;
  subject: string;
  outcome: string;
  ok: boolean;
}

export interface ConsoleContext {
  readonly target: Target;
  /** `<mount>/<urlToken>`: the prefix of every link. */
  readonly base: string;
  readonly secrets: ConsoleSecrets;
  readonly clock: () => number;
  readonly log: ConsoleLog;
  readonly dlq: DeadLetterSnapshots;
  readonly jobs: ReplayJobs;
  readonly notices: Notices;
  /** The operator (STS ARN or user@host), resolved once. */
  operator(): Promise<string>;
  /** Logs an action and keeps it for the Activity page. */
  recordAction(entry: Omit<ActionEntry, 'at' | 'by'>): Promise<void>;
  /** The newest actions of this console, newest first. */
  actions(): readonly ActionEntry[];
}

/** A parsed request below `<base>/`. */
export interface ConsoleRequest {
  readonly method: 'GET' | 'POST';
  /** Path segments after `<base>/`, decoded. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** The urlencoded body of a POST (already CSRF-checked). */
  readonly form: URLSearchParams;
}

export type ConsoleResponse =
  | { kind: 'page'; status?: number; body: Html }
  | { kind: 'redirect'; location: string }
  | {
      kind: 'file';
      contentType: string;
      body: Uint8Array | string;
      /** A report page gets its own CSP (inline styles, sandboxed). */
      reportPage?: boolean;
      /** Suggested file name for downloads. */
      fileName?: string;
    };

/** Bad input to a route: answered 400 with the message (it names the field, never echoes it). */
export class ConsoleInputError extends Error {
  override readonly name = 'ConsoleInputError';
  readonly status: 400 | 404;
  constructor(message: string, status: 400 | 404 = 400) {
    super(message);
    this.status = status;
  }
}

/** Parses route input with a schema; the error names each bad field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConsoleInputError(
    `Invalid ${what}: ${parsed.error.issues
      .map((i) => `${i.path.join('.') || what}: ${i.message}`)
      .join('; ')}.`,
  );
}

/** The query as a plain record (last value wins), empty values left out. */
export function queryRecord(query: URLSearchParams): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of query) if (value !== '') record[key] = value;
  return record;
}
