import * as z from 'zod';
import type { Query, TallyfyClient } from './client.ts';
import { TallyfyResponseError } from './errors.ts';

/** Tallyfy's largest `per_page`; more is answered with 422. */
export const MAX_PER_PAGE = 100;

/** Options of a paginated read. */
export interface PageOptions<T> {
  /** `per_page`, 1..100. @default 100 (Tallyfy's own default is 10: fewer calls this way) */
  perPage?: number;
  /** Validates each item; items are `unknown` without it. */
  itemSchema?: z.ZodType<T>;
  /** First page to read. @default 1 */
  startPage?: number;
}

/** One page of a list, with what reporting counts. */
export interface TallyfyPage<T> {
  data: T[];
  /** `meta.pagination.current_page` (the requested page when Tallyfy sent no meta). */
  page: number;
  /** `meta.pagination.total_pages`, when sent. */
  totalPages: number | undefined;
  /** `meta.pagination.total`, when sent. */
  total: number | undefined;
  perPage: number;
  /** HTTP attempts this page took (1 + retries). */
  calls: number;
  requestId: string | undefined;
}

// built on first use (z.lazy), not at every cold start of the functions that bundle the client
const paginationSchema = z.lazy(() =>
  z.looseObject({
    total: z.number().int().nonnegative().optional(),
    count: z.number().int().nonnegative().optional(),
    per_page: z.union([z.number(), z.string()]).optional(),
    current_page: z.number().int().positive(),
    total_pages: z.number().int().nonnegative().optional(),
    // Laravel serialises an empty links object as `[]`
    links: z
      .union([z.looseObject({ next: z.string().nullish() }), z.array(z.unknown())])
      .optional(),
  }),
);

const metaSchema = z.lazy(() => z.looseObject({ pagination: paginationSchema.optional() }));
const untypedEnvelope = z.lazy(() =>
  z.looseObject({ data: z.array(z.unknown()), meta: metaSchema.optional() }),
);
const envelopes = new WeakMap<z.ZodType, z.ZodType>();

/** The list envelope for an item schema, built once per item schema (zod compiles on first use). */
function envelopeSchema(item: z.ZodType | undefined): z.ZodType {
  if (item === undefined) return untypedEnvelope;
  let schema = envelopes.get(item);
  if (schema === undefined) {
    schema = z.looseObject({ data: z.array(item), meta: metaSchema.optional() });
    envelopes.set(item, schema);
  }
  return schema;
}

/**
 * Reads a list page by page until `meta.pagination` says it was the last (or a page is empty,
 * or there is no pagination meta at all).
 */
export async function* paginate<T>(
  client: TallyfyClient,
  path: string,
  query: Query,
  options: PageOptions<T>,
): AsyncGenerator<TallyfyPage<T>> {
  const perPage = options.perPage ?? MAX_PER_PAGE;
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
    throw new RangeError(`perPage must be a whole number in 1..${MAX_PER_PAGE}, got ${perPage}`);
  }
  const schema = envelopeSchema(options.itemSchema) as z.ZodType<{
    data: T[];
    meta?: { pagination?: z.infer<typeof paginationSchema> | undefined } | undefined;
  }>;
  let page = options.startPage ?? 1;
  for (;;) {
    const res = await client.request('GET', path, {
      query: { ...query, page, per_page: perPage },
      schema,
    });
    const pagination = res.data.meta?.pagination;
    const current = pagination?.current_page ?? page;
    if (current !== page) {
      throw new TallyfyResponseError(
        `Tallyfy answered page ${current} of GET ${path} when page ${page} was asked for.`,
        { method: 'GET', path, status: res.status, requestId: res.requestId },
      );
    }
    yield {
      data: res.data.data,
      page: current,
      totalPages: pagination?.total_pages,
      total: pagination?.total,
      perPage,
      calls: res.attempts,
      requestId: res.requestId,
    };
    if (pagination === undefined || res.data.data.length === 0) return;
    const links = pagination.links;
    const next = links !== undefined && !Array.isArray(links) ? links.next : undefined;
    const more =
      pagination.total_pages === undefined
        ? typeof next === 'string' && next.length > 0
        : current < pagination.total_pages;
    if (!more) return;
    page = current + 1;
  }
}

/**
 * A list read lazily: iterate it for items, or call `pages()` for page metadata.
 *
 * @example
 * for await (const run of api.listRuns(orgId)) console.log(run.id);
 * for await (const page of api.listRuns(orgId).pages()) pagesRead++;
 */
export class Paginated<T> implements AsyncIterable<T> {
  readonly #pages: (startPage?: number) => AsyncGenerator<TallyfyPage<T>>;

  /** @param pages reads the list from `startPage` (default 1) to its end */
  constructor(pages: (startPage?: number) => AsyncGenerator<TallyfyPage<T>>) {
    this.#pages = pages;
  }

  /** The pages, from `startPage` (default 1): a read cut short resumes where it stopped. */
  pages(startPage?: number): AsyncGenerator<TallyfyPage<T>> {
    return this.#pages(startPage);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.#pages()) yield* page.data;
  }

  /** Every item of every page, in order. */
  async all(): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.#pages()) items.push(...page.data);
    return items;
  }
}
