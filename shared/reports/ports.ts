import type { WaitBudget } from '../tallyfy/index.ts';
import type { FlowBuckets } from './flow-series.ts';
import type { EventCounts, Period, ProcessPage, ReportOrg, TaskPage } from './types.ts';

/** How a fetch may wait: a 429's full `Retry-After`, when it fits before the run's deadline. */
export interface FetchOptions {
  readonly waits?: WaitBudget | undefined;
}

/**
 * Which items a fetch asks for. Filters only save API calls: the aggregator re-checks every
 * condition itself, so a source that ignores a filter gives the same report, just slower.
 */
export interface TaskQuery {
  /** `open`: not completed; `completed`: completed ones; omitted: all. */
  readonly status?: 'open' | 'completed';
}

/** Where processes and tasks come from (the Tallyfy API in production), page by page. */
export interface ReportSource {
  /**
   * Every process of the org, page by page (pages of up to 100). A 429 whose `Retry-After`
   * does not fit `options.waits` is thrown as `TallyfyRateLimitError` (the org is deferred).
   */
  processes(orgId: string, options?: FetchOptions): AsyncIterable<ProcessPage>;
  /** The org's tasks, page by page (pages of up to 100); waits as `processes` does. */
  tasks(orgId: string, query: TaskQuery, options?: FetchOptions): AsyncIterable<TaskPage>;
}

/** Where report files go: S3 in AWS, `./reports/` locally. */
export interface ReportSink {
  /** Writes (or overwrites) one object. */
  put(key: string, body: string, contentType: string): Promise<void>;
}

/** The orgs to report on. */
export interface OrgLister {
  /** Every org whose status is `active`. */
  activeOrgs(): Promise<readonly ReportOrg[]>;
  /** One org by id, whatever its status; `undefined` when unknown. */
  getOrg(orgId: string): Promise<ReportOrg | undefined>;
}

/**
 * Our own webhook and reconciliation counts (events received, recovered by the reconciler,
 * dead-lettered). `null` means "not available": the report says so rather than printing zeros.
 */
export interface EventFigures {
  counts(orgId: string, period: Period): Promise<EventCounts | null>;
  /**
   * The org's event flow over the period, in hour buckets (periods up to 2 days) or day
   * buckets, for report.html's chart; `null` when the counters do not reach back that far.
   */
  flow?(orgId: string, period: Period): Promise<FlowBuckets | null>;
}

/** What one org's report run cost and how it ended, for metrics. */
export interface OrgRunFigures {
  readonly orgId: string;
  readonly ok: boolean;
  /** Stopped for a rate limit, to resume on the next run: neither written nor failed. */
  readonly deferred?: boolean;
  readonly durationMs: number;
  readonly apiCalls: number;
  readonly retries: number;
  readonly pages: number;
}

/** Metrics sink: report duration, API calls and failures per org. */
export interface ReportMetrics {
  orgFinished(figures: OrgRunFigures): void;
}

/** The few log calls the reporter makes (Powertools' Logger fits this shape). */
export interface ReportLog {
  info(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** A scheduled period of an org that was deferred (a rate limit), to report on the next run. */
export interface PendingPeriod {
  readonly sinceMs: number;
  readonly untilMs: number;
  /** Epoch ms Tallyfy said it may be asked again. */
  readonly resumeAfterMs: number;
}

/** The reporter's resumable state: each org's deferred periods (kept beside the org). */
export interface PendingReports {
  get(orgId: string): Promise<readonly PendingPeriod[]>;
  set(orgId: string, periods: readonly PendingPeriod[]): Promise<void>;
}
