import { json, type Reply, unprocessable } from './context.ts';

export interface PageRequest {
  page: number;
  perPage: number;
}

export const DEFAULT_PER_PAGE = 10;
export const MAX_PER_PAGE = 100;

function positiveInt(text: string | null): number | undefined | null {
  if (text === null) return undefined;
  return /^\d+$/.test(text) && Number(text) >= 1 ? Number(text) : null;
}

/** Reads `page` and `per_page`; a 422 reply when either is invalid or `per_page` > 100. */
export function readPage(query: URLSearchParams): PageRequest | Reply {
  const page = positiveInt(query.get('page'));
  const perPage = positiveInt(query.get('per_page'));
  const errors: Record<string, string[]> = {};
  if (page === null) errors.page = ['The page must be an integer of at least 1.'];
  if (perPage === null) errors.per_page = ['The per page must be an integer of at least 1.'];
  else if (perPage !== undefined && perPage > MAX_PER_PAGE) {
    errors.per_page = [`The per page may not be greater than ${MAX_PER_PAGE}.`];
  }
  if (Object.keys(errors).length > 0) return unprocessable(errors);
  return { page: page ?? 1, perPage: perPage ?? DEFAULT_PER_PAGE };
}

/** The list envelope: `{data, meta: {pagination: {total, count, per_page, current_page, total_pages, links}}}`. */
export function pageReply<T>(
  items: readonly T[],
  request: PageRequest,
  render: (item: T) => unknown,
  selfUrl: URL,
): Reply {
  const total = items.length;
  const totalPages = Math.max(1, Math.ceil(total / request.perPage));
  const start = (request.page - 1) * request.perPage;
  const slice = items.slice(start, start + request.perPage);
  const links: { next?: string; previous?: string } = {};
  const link = (page: number) => {
    const url = new URL(selfUrl);
    url.searchParams.set('page', String(page));
    url.searchParams.set('per_page', String(request.perPage));
    return url.toString();
  };
  if (request.page > 1) links.previous = link(Math.min(request.page - 1, totalPages));
  if (request.page < totalPages) links.next = link(request.page + 1);
  return json(200, {
    data: slice.map(render),
    meta: {
      pagination: {
        total,
        count: slice.length,
        per_page: request.perPage,
        current_page: request.page,
        total_pages: totalPages,
        links,
      },
    },
  });
}
