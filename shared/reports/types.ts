/**
 * The report's own vocabulary. Tallyfy calls processes `runs` and templates `checklists`; this
 * layer says `process` / `template` (the words the report's readers use) and keeps ids as
 * Tallyfy gives them. All instants are epoch milliseconds here; adapters parse Tallyfy's date
 * formats before anything reaches the aggregator.
 */

/** A process (Tallyfy `run`) with only the fields the report needs. */
export interface ReportProcess {
  readonly id: string;
  /** Tallyfy `checklist_id`; `null` for a process without a template. */
  readonly templateId: string | null;
  /** Tallyfy `checklist_title`, when the API gives it. */
  readonly templateTitle: string | null;
  /** `started_at`, else `created_at`. */
  readonly launchedAtMs: number;
  /** `completed_at`; `null` while the process is not completed. */
  readonly completedAtMs: number | null;
  /** Open = neither completed nor archived (counted in "open processes"). */
  readonly open: boolean;
}

/** A task with only the fields the report needs. */
export interface ReportTask {
  readonly id: string;
  /** Tallyfy `run_id`; `null` for a one-off task. */
  readonly processId: string | null;
  /** Open = not completed and not skipped (counted as overdue / due soon). */
  readonly open: boolean;
  readonly deadlineMs: number | null;
  readonly completedAtMs: number | null;
  /** Tallyfy `owners.users` (user ids). Guests and groups are not assignees in this report. */
  readonly assigneeIds: readonly string[];
}

/** One page as fetched: the items and how many HTTP calls it took (1 + retries). */
export interface Page<T> {
  readonly items: readonly T[];
  /** HTTP requests spent on this page, retries included (≥ 1). */
  readonly calls: number;
}

export type ProcessPage = Page<ReportProcess>;
export type TaskPage = Page<ReportTask>;

/** A half-open interval [since, until) of instants, epoch ms. */
export interface Period {
  readonly sinceMs: number;
  readonly untilMs: number;
}

/** An org as the reporter needs it. */
export interface ReportOrg {
  readonly orgId: string;
  readonly name?: string | undefined;
  /** IANA time zone (e.g. `Europe/London`) when the registry knows it. */
  readonly timezone?: string | undefined;
}

/** Our own webhook/reconciliation counts for an org and period. */
export interface EventCounts {
  readonly received: number;
  readonly recovered: number;
  readonly deadLettered: number;
}
