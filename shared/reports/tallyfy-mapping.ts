import * as z from 'zod';
import type { ReportProcess, ReportTask } from './types.ts';

/**
 * Turns a date as Tallyfy writes it into epoch ms; throws on text it cannot read. Tallyfy
 * writes ISO 8601 or, per org setting, `d/m/Y h:i A T`: the Tallyfy client's parser reads both.
 */
export type TallyfyDateParser = (text: string) => number;

const id = z.lazy(() => z.union([z.string().min(1), z.number().int()]).transform(String));
const optionalText = z.string().nullish();

/** The fields of a Tallyfy run (`GET …/runs`) the report relies on; other fields are dropped (less garbage per page). */
export const TallyfyRunSchema = z.lazy(() =>
  z.object({
    id,
    checklist_id: id.nullish(),
    checklist_title: optionalText,
    status: z.string(),
    created_at: z.string().min(1),
    started_at: optionalText,
    completed_at: optionalText,
  }),
);

/** The fields of a Tallyfy task (`GET …/tasks`) the report relies on; other fields are dropped (less garbage per page). */
export const TallyfyTaskSchema = z.lazy(() =>
  z.object({
    id,
    run_id: id.nullish(),
    status: z.string(),
    deadline: optionalText,
    completed_at: optionalText,
    // Tallyfy lists owners as ids in some answers and as user objects in others (webhooks)
    owners: z
      .looseObject({
        users: z.array(z.union([id, z.looseObject({ id }).transform((u) => u.id)])).nullish(),
      })
      .nullish(),
  }),
);

export type TallyfyRun = z.output<typeof TallyfyRunSchema>;
export type TallyfyTask = z.output<typeof TallyfyTaskSchema>;

const CLOSED_RUN = new Set(['completed', 'complete', 'archived']);
const CLOSED_TASK = new Set(['completed', 'complete', 'auto-skipped', 'skipped']);

/** A Tallyfy run as the report sees it. */
export function toReportProcess(run: TallyfyRun, parseDate: TallyfyDateParser): ReportProcess {
  const completedAtMs = run.completed_at ? parseDate(run.completed_at) : null;
  return {
    id: run.id,
    templateId: run.checklist_id ?? null,
    templateTitle: run.checklist_title ?? null,
    launchedAtMs: parseDate(run.started_at || run.created_at),
    completedAtMs,
    open: !CLOSED_RUN.has(run.status) && completedAtMs === null,
  };
}

/** A Tallyfy task as the report sees it (assignees: `owners.users`). */
export function toReportTask(task: TallyfyTask, parseDate: TallyfyDateParser): ReportTask {
  const completedAtMs = task.completed_at ? parseDate(task.completed_at) : null;
  return {
    id: task.id,
    processId: task.run_id ?? null,
    open: !CLOSED_TASK.has(task.status) && completedAtMs === null,
    deadlineMs: task.deadline ? parseDate(task.deadline) : null,
    completedAtMs,
    assigneeIds: task.owners?.users ?? [],
  };
}
