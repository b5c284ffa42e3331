/**
 * The plumbing every registry file shares: the context, DynamoDB error mapping, item parsing.
 */
import {
  type DynamoDBDocumentClient,
  paginateQuery,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod';
import { InvalidInputError, ItemInvalidError, OrgsError, StoreError } from './errors.ts';

/** What every registry operation needs. */
export interface RegistryContext {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock: () => number;
  shards: number;
}

export const nowIso = (ctx: RegistryContext): string => new Date(ctx.clock()).toISOString();

/** True for a failed ConditionExpression (plain, or inside a cancelled transaction). */
function isConditionFailed(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ConditionalCheckFailedException') return true;
  if (err.name === 'TransactionCanceledException') {
    const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
    return (reasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed');
  }
  return false;
}

/**
 * Runs one DynamoDB call. A failed condition goes to `onConditionFailed` (which maps it to the
 * typed error or an outcome); anything else that is not already ours becomes a StoreError. The
 * SDK has retried throttling and 5xx before we see it (standard retry mode).
 */
export async function run<T>(
  operation: string,
  call: () => Promise<T>,
  onConditionFailed?: (err: unknown) => T | Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (onConditionFailed !== undefined && isConditionFailed(err)) return onConditionFailed(err);
    if (err instanceof OrgsError) throw err;
    throw new StoreError(operation, { cause: err });
  }
}

/**
 * Every page of a Query, through the SDK's paginator (it follows `LastEvaluatedKey`); a failed
 * page becomes a StoreError as in {@link run}. Stopping early (`break`) reads no further page.
 */
export async function* queryPages(
  ctx: RegistryContext,
  operation: string,
  input: Omit<QueryCommandInput, 'TableName'> & { TableName?: string },
): AsyncGenerator<QueryCommandOutput, void, undefined> {
  const pages = paginateQuery({ client: ctx.client }, { TableName: ctx.tableName, ...input });
  try {
    // errors of the caller's loop body are not thrown in here: only the paginator's are caught
    for await (const page of pages) yield page;
  } catch (err) {
    if (err instanceof OrgsError) throw err;
    throw new StoreError(operation, { cause: err });
  }
}

/** Parses an argument; the error names the argument and the failed checks, never the value. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .map((issue) => `${issue.path.join('.') || what}: ${issue.message}`)
    .join('; ');
  throw new InvalidInputError(`invalid ${what}: ${issues}`, { cause: parsed.error });
}

/** Parses a stored item; the error names the item key and the failed paths, never values. */
export function parseItem<S extends z.ZodType>(
  schema: S,
  item: Record<string, unknown>,
): z.output<S> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const paths = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
  throw new ItemInvalidError(
    `stored item ${String(item.pk)} / ${String(item.sk)} does not match its schema (at ${paths})`,
    { cause: parsed.error },
  );
}

/** Drops `undefined` members, which the document client refuses by default. */
export function defined<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

/** Opaque page cursor from a LastEvaluatedKey. */
export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key === undefined ? undefined : Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch (err) {
    throw new InvalidInputError('invalid page cursor: pass back the cursor a page returned', {
      cause: err,
    });
  }
  throw new InvalidInputError('invalid page cursor: pass back the cursor a page returned');
}

/**
 * Builds an UpdateItem's expressions with every attribute name aliased (so reserved words such
 * as `status`, `name`, `value` need no thought) and only the names and values actually used
 * (DynamoDB rejects unused ones).
 */
export class UpdateBuilder {
  readonly #names: Record<string, string> = {};
  readonly #values: Record<string, unknown> = {};
  readonly #sets: string[] = [];
  readonly #removes: string[] = [];
  readonly #conditions: string[] = [];

  /** `#attr`, registered. */
  name(attribute: string): string {
    const alias = `#${attribute}`;
    this.#names[alias] = attribute;
    return alias;
  }

  /** `:vN`, registered. */
  value(value: unknown): string {
    const alias = `:v${Object.keys(this.#values).length}`;
    this.#values[alias] = value;
    return alias;
  }

  /** SET attr = value; `undefined` REMOVEs it instead. */
  set(attribute: string, value: unknown): this {
    if (value === undefined) return this.remove(attribute);
    this.#sets.push(`${this.name(attribute)} = ${this.value(value)}`);
    return this;
  }

  /** A SET clause written with {@link name} and {@link value}. */
  setExpression(clause: string): this {
    this.#sets.push(clause);
    return this;
  }

  remove(attribute: string): this {
    this.#removes.push(this.name(attribute));
    return this;
  }

  /** ANDs a condition written with {@link name} and {@link value}. */
  when(condition: string): this {
    this.#conditions.push(`(${condition})`);
    return this;
  }

  build(): {
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    const clauses: string[] = [];
    if (this.#sets.length > 0) clauses.push(`SET ${this.#sets.join(', ')}`);
    if (this.#removes.length > 0) clauses.push(`REMOVE ${this.#removes.join(', ')}`);
    return {
      UpdateExpression: clauses.join(' '),
      ...(this.#conditions.length > 0
        ? { ConditionExpression: this.#conditions.join(' AND ') }
        : {}),
      ExpressionAttributeNames: this.#names,
      ...(Object.keys(this.#values).length > 0 ? { ExpressionAttributeValues: this.#values } : {}),
    };
  }
}
