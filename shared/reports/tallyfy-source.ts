import { pagesWithRateLimitWaits, type WaitBudget } from '../tallyfy/index.ts';
import type { FetchOptions, ReportSource, TaskQuery } from './ports.ts';
import {
  type TallyfyDateParser,
  TallyfyRunSchema,
  TallyfyTaskSchema,
  toReportProcess,
  toReportTask,
} from './tallyfy-mapping.ts';

/** One page of a Tallyfy list, with the HTTP calls it took (1 + retries). */
export interface TallyfyListPage {
  readonly data: readonly unknown[];
  readonly calls: number;
}

/**
 * The one thing the report needs from the Tallyfy client: a list endpoint, page by page
 * (`page`, `per_page`, following `meta.pagination` to the last page), authenticated for the
 * org in the path, retrying 429/5xx as the client's policy says.
 */
export interface TallyfyLists {
  pages(
    path: string,
    options: { readonly perPage: number; readonly waits?: WaitBudget | undefined },
  ): AsyncIterable<TallyfyListPage>;
}

/** What {@link tallyfyClientLists} needs of a `TallyfyClient` (its `pages`). */
export interface TallyfyPagesClient {
  pages(
    path: string,
    query: Readonly<Record<string, string>>,
    options: { perPage: number; startPage?: number },
  ): AsyncIterable<{
    readonly data: readonly unknown[];
    readonly calls: number;
    readonly page: number;
  }>;
}

/**
 * {@link TallyfyLists} over a `TallyfyClient` (shared/tallyfy): its pagination reads
 * `meta.pagination` to the last page, and each page's `calls` counts the attempts (1 + the
 * retries of 429 and 500/502/503/504) that page took.
 *
 * @example
 * const lists = tallyfyClientLists(createTallyfyClient({ auth: tokens.forOrg(orgId), baseUrl }));
 */
export function tallyfyClientLists(client: TallyfyPagesClient): TallyfyLists {
  return {
    async *pages(path, { perPage, waits }) {
      const from = (startPage: number) => client.pages(path, {}, { perPage, startPage });
      // a 429 the client gave up on is waited out in full, when it fits, and the same page is
      // asked again: the pages already read stay read
      const pages = waits === undefined ? from(1) : pagesWithRateLimitWaits(from, waits);
      for await (const page of pages) yield { data: page.data, calls: page.calls };
    },
  };
}

export interface TallyfyReportSourceOptions {
  /** `per_page` (Tallyfy's maximum is 100). @default 100 */
  readonly pageSize?: number;
  /** Reads Tallyfy's two date formats (ISO 8601, `d/m/Y h:i A T`). */
  readonly parseDate: TallyfyDateParser;
}

/**
 * {@link ReportSource} over the Tallyfy API: processes from `GET /organizations/{org}/runs`,
 * tasks from the org-wide `GET /organizations/{org}/tasks` (⌈tasks/100⌉ calls, where
 * per-process lists would need one call per process at least). `listsFor` gives the lists
 * authenticated for one org (a client per org over the token provider). Every item is
 * validated; an item that does not fit fails the org's report with the schema's message rather
 * than being skipped silently.
 *
 * @example
 * const source = tallyfyReportSource((orgId) => tallyfyClientLists(clientFor(orgId)), {
 *   parseDate: parseTallyfyDateMs,
 * });
 */
export function tallyfyReportSource(
  listsFor: (orgId: string) => TallyfyLists,
  options: TallyfyReportSourceOptions,
): ReportSource {
  const perPage = options.pageSize ?? 100;
  const { parseDate } = options;
  return {
    async *processes(orgId, fetch: FetchOptions = {}) {
      const path = `/organizations/${encodeURIComponent(orgId)}/runs`;
      for await (const page of listsFor(orgId).pages(path, { perPage, waits: fetch.waits })) {
        yield {
          items: page.data.map((raw) => toReportProcess(TallyfyRunSchema.parse(raw), parseDate)),
          calls: page.calls,
        };
      }
    },
    // TaskQuery is a hint; one unfiltered pass is what the report asks for, and guessing
    // Tallyfy's status filter values could drop `not-started` tasks from "open"
    async *tasks(orgId, _query: TaskQuery, fetch: FetchOptions = {}) {
      const path = `/organizations/${encodeURIComponent(orgId)}/tasks`;
      for await (const page of listsFor(orgId).pages(path, { perPage, waits: fetch.waits })) {
        yield {
          items: page.data.map((raw) => toReportTask(TallyfyTaskSchema.parse(raw), parseDate)),
          calls: page.calls,
        };
      }
    },
  };
}
