/**
 * Tallyfy webhook payloads (tallyfy-api.md "Webhooks"; examples in test/unit/webhooks/fixtures): task-level
 * (`this_task` …), process-level (the run: `id`, `checklist_id`, `status` …) and org-watcher
 * events (`{event, organization_id?, occurred_at?, data}`, or `event` beside the task payload's
 * fields at the top level).
 *
 * The schemas are lenient on everything we do not key on (unknown and undeclared fields pass
 * through untouched, whatever their type) and strict on what we do: ids, status, the event
 * name and the dates that make the dedupe key. The envelope carries the payload as received;
 * these schemas only decide its type, subject and time.
 */
import * as z from 'zod';
import { type EventType, isEventType } from '../events/index.ts';
import { parseWebhookDate } from './dates.ts';

/** A Tallyfy id (task, run, template): printable ASCII, no spaces, at most 128 characters. */
export const tallyfyIdSchema = z.lazy(() =>
  z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable ASCII characters without spaces'),
);

/**
 * A webhook date (ISO or `d/m/Y h:i A T`) → ISO UTC. `null`, absent and `""` (PHP's empty
 * value) mean "no date" (`undefined`); any other text that is not a date is an issue.
 */
export const webhookDateSchema = z.lazy(() =>
  z
    .union([z.string(), z.null()])
    .optional()
    .transform((value, ctx): string | undefined => {
      if (value === undefined || value === null || value.trim() === '') return undefined;
      const iso = parseWebhookDate(value);
      if (iso === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'is not an ISO 8601 or "d/m/Y h:i A T" date with a known zone',
        });
        return z.NEVER;
      }
      return iso;
    }),
);

const statusSchema = z.lazy(() =>
  z
    .union([z.string(), z.null()])
    .optional()
    .transform((value) => value ?? undefined),
);

/** `this_task` of a task-level webhook; only the keyed fields are checked. */
export const thisTaskSchema = z.lazy(() =>
  z.looseObject({
    id: tallyfyIdSchema,
    status: statusSchema,
    completed_at: webhookDateSchema,
  }),
);

/**
 * Task-level webhook (a step completed): `this_task`, `completer`, `form-fields`, `process`,
 * `template`, `next_task` (an object; after the last step `[]`, `{}` or `null`, all accepted:
 * it is not keyed on) …
 */
export const taskWebhookSchema = z.lazy(() => z.looseObject({ this_task: thisTaskSchema }));
export type TaskWebhook = z.infer<typeof taskWebhookSchema>;

/**
 * Process-level webhook (launch / completion): the run itself with `process-tasks`,
 * `ko-form-fields`, `guest-links`, `launcher` …
 */
export const processWebhookSchema = z.lazy(() =>
  z.looseObject({
    id: tallyfyIdSchema,
    checklist_id: tallyfyIdSchema,
    status: statusSchema,
    created_at: webhookDateSchema,
    started_at: webhookDateSchema,
    completed_at: webhookDateSchema,
  }),
);
export type ProcessWebhook = z.infer<typeof processWebhookSchema>;

/** Org-watcher event: `event` (`task.completed` …), optional org id and time, and `data`. */
export const watcherWebhookSchema = z.lazy(() =>
  z.looseObject({
    event: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be a dotted event name'),
    organization_id: z.union([z.string(), z.null()]).optional(),
    occurred_at: webhookDateSchema,
    data: z.unknown().optional(),
  }),
);
export type WatcherWebhook = z.infer<typeof watcherWebhookSchema>;

/** Which documented shape a payload has. */
export type WebhookShape = 'task' | 'process' | 'watcher' | 'unknown';

/** What a payload is: its event type and, when it has them, subject id and time. */
export interface WebhookClassification {
  shape: WebhookShape;
  type: EventType;
  /** Task id (task events) or run id (process events). */
  subjectId?: string;
  /** Completion / launch time (ISO UTC) the dedupe key uses. */
  occurredAt?: string;
}

/** One failed check of a keyed field: the path and what is wrong (never the value). */
export interface WebhookIssue {
  path: string;
  message: string;
}

export type ClassifyResult =
  | { ok: true; classification: WebhookClassification }
  | { ok: false; issues: WebhookIssue[] };

/**
 * Classifies a parsed JSON object:
 * - `event` present → watcher; type = the event when we know it, else `unknown`; the inner
 *   payload is `data` when it is an object, else the top level;
 * - `this_task` present → task-level; `task.completed` when `status` is `completed` or
 *   `completed_at` is set, else `unknown`;
 * - `checklist_id` present → process-level; `process.completed` when `status` is `completed`
 *   or `completed_at` is set, else `process.launched`;
 * - anything else → `unknown` (kept, not dropped).
 *
 * A payload that has a shape's marker but fails that shape's keyed fields is not
 * classified: the caller answers 400 with the issues.
 *
 * @example
 * classifyWebhook(JSON.parse(body));
 * // { ok: true, classification: { shape: 'task', type: 'task.completed', subjectId: 't7c1…',
 * //   occurredAt: '2026-11-19T10:42:13.000Z' } }
 */
export function classifyWebhook(payload: Record<string, unknown>): ClassifyResult {
  if ('event' in payload) {
    const watcher = watcherWebhookSchema.safeParse(payload);
    if (!watcher.success) return failed(watcher.error, []);
    const { data } = watcher.data;
    const innerIsData = isPlainObject(data);
    const inner = innerIsData ? data : payload;
    const subject = classifyInner(inner, innerIsData ? ['data'] : []);
    if (!subject.ok) return subject;
    const type: EventType = isEventType(watcher.data.event) ? watcher.data.event : 'unknown';
    const occurredAt = watcherTime(type, subject.value, watcher.data.occurred_at);
    return ok({ shape: 'watcher', type, subjectId: subject.value?.subjectId, occurredAt });
  }
  if ('this_task' in payload || 'checklist_id' in payload) {
    const inner = classifyInner(payload, []);
    if (!inner.ok) return inner;
    const value = inner.value as InnerSubject;
    if (value.kind === 'task') {
      const completed = value.status === 'completed' || value.completedAt !== undefined;
      return ok({
        shape: 'task',
        type: completed ? 'task.completed' : 'unknown',
        subjectId: value.subjectId,
        occurredAt: completed ? value.completedAt : undefined,
      });
    }
    const completed = value.status === 'completed' || value.completedAt !== undefined;
    return ok({
      shape: 'process',
      type: completed ? 'process.completed' : 'process.launched',
      subjectId: value.subjectId,
      occurredAt: completed ? value.completedAt : value.launchedAt,
    });
  }
  return ok({ shape: 'unknown', type: 'unknown' });
}

interface InnerSubject {
  kind: 'task' | 'process';
  subjectId: string;
  status: string | undefined;
  completedAt: string | undefined;
  /** Processes only: `started_at`, else `created_at`. */
  launchedAt?: string | undefined;
}

type InnerResult =
  | { ok: true; value: InnerSubject | undefined }
  | { ok: false; issues: WebhookIssue[] };

/** The task or run an (inner) payload is about; `undefined` when it has neither marker. */
function classifyInner(payload: Record<string, unknown>, at: string[]): InnerResult {
  if ('this_task' in payload) {
    // only this_task is keyed: parsing it alone spares copying every top-level field
    const task = thisTaskSchema.safeParse(payload.this_task);
    if (!task.success) return failed(task.error, [...at, 'this_task']);
    const t = task.data;
    return {
      ok: true,
      value: { kind: 'task', subjectId: t.id, status: t.status, completedAt: t.completed_at },
    };
  }
  if ('checklist_id' in payload) {
    const run = processWebhookSchema.safeParse(payload);
    if (!run.success) return failed(run.error, at);
    const r = run.data;
    return {
      ok: true,
      value: {
        kind: 'process',
        subjectId: r.id,
        status: r.status,
        completedAt: r.completed_at,
        launchedAt: r.started_at ?? r.created_at,
      },
    };
  }
  return { ok: true, value: undefined };
}

/**
 * The time of a watcher event: the same payload field a template hook of that type keys on
 * (so both paths give one dedupe key), else the watcher's `occurred_at`.
 */
function watcherTime(
  type: EventType,
  inner: InnerSubject | undefined,
  occurredAt: string | undefined,
): string | undefined {
  if (type === 'task.completed' && inner?.kind === 'task') return inner.completedAt ?? occurredAt;
  if (type === 'process.completed' && inner?.kind === 'process') {
    return inner.completedAt ?? occurredAt;
  }
  if (type === 'process.launched' && inner?.kind === 'process') {
    return inner.launchedAt ?? occurredAt;
  }
  return occurredAt;
}

function ok(classification: WebhookClassification): ClassifyResult {
  const clean: WebhookClassification = { shape: classification.shape, type: classification.type };
  if (classification.subjectId !== undefined) clean.subjectId = classification.subjectId;
  if (classification.occurredAt !== undefined) clean.occurredAt = classification.occurredAt;
  return { ok: true, classification: clean };
}

function failed(error: z.ZodError, at: string[]): { ok: false; issues: WebhookIssue[] } {
  return {
    ok: false,
    issues: error.issues.map((issue) => ({
      path: [...at, ...issue.path.map(String)].join('.') || '(root)',
      message: issue.message,
    })),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
