/**
 * What rules see of an event: one normalized view over the three webhook shapes (task-level,
 * process-level, org watcher) and the reconciler's API-shaped data, used both for matching and
 * as the template context (`{{task.id}}`, `{{fields.vendor}}`…). See docs/automations.md.
 */
import type { EventEnvelope } from '../events/index.ts';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== ''
    ? value
    : typeof value === 'number'
      ? String(value)
      : undefined;

/** The normalized event a rule matches on and renders templates from. */
export interface EventView {
  /** Envelope fields (never the payload). */
  event: {
    id: string;
    type: EventEnvelope['type'];
    orgId: string;
    subject: string | undefined;
    time: string;
    receivedAt: string;
    origin: EventEnvelope['origin'];
  };
  /** The Tallyfy payload as received (for `{{data.…}}` paths). */
  data: unknown;
  /** The task the event is about (`this_task`), when there is one. */
  task: Json | undefined;
  /** The process (run): `process` of a task webhook, the run itself for process webhooks. */
  process: Json | undefined;
  /** The template (checklist): `{id, title, alias}` as far as the payload tells. */
  template: Json | undefined;
  /** Form values by alias: `form-fields` (task webhooks) or kick-off values (process webhooks). */
  fields: Json;
  /** Who completed / launched, when the payload says. */
  completer: Json | undefined;
  launcher: Json | undefined;
  /**
   * The process's next task (`next_task`), when there is one. After the last step Tallyfy sends
   * `[]`, `{}` or `null` (its docs name all three): each of them is `undefined` here.
   */
  nextTask: Json | undefined;
}

/** `next_task` as an object with an id; the end-of-process forms (`[]`, `{}`, `null`) are none. */
function nextTaskOf(value: unknown): Json | undefined {
  return isObject(value) && str(value.id) !== undefined ? value : undefined;
}

/** The payload a watcher event wraps (`data`), else the payload itself. */
function inner(data: unknown): Json | undefined {
  if (!isObject(data)) return undefined;
  if (typeof data.event === 'string' && isObject(data.data)) return data.data;
  return data;
}

/**
 * Builds the view of an envelope whose payload (`data`, or the claim-checked body) is `data`.
 *
 * @example
 * const view = eventView(envelope, await envelopeData(envelope, archive));
 * view.task?.alias; // 'approve-po'
 */
export function eventView(envelope: EventEnvelope, data: unknown): EventView {
  const payload = inner(data) ?? {};
  const base = {
    event: {
      id: envelope.id,
      type: envelope.type,
      orgId: envelope.orgId,
      subject: envelope.subject,
      time: envelope.time,
      receivedAt: envelope.receivedAt,
      origin: envelope.origin,
    },
    data,
    completer: isObject(payload.completer) ? payload.completer : undefined,
    launcher: isObject(payload.launcher) ? payload.launcher : undefined,
    nextTask: nextTaskOf(payload.next_task),
  };

  if (isObject(payload.this_task)) {
    const task = payload.this_task;
    const process = isObject(payload.process) ? payload.process : undefined;
    const template = isObject(payload.template)
      ? payload.template
      : process && str(process.checklist_id)
        ? { id: process.checklist_id, title: process.checklist_title }
        : undefined;
    const fields = isObject(payload['form-fields']) ? { ...payload['form-fields'] } : {};
    // the task's own captures win over the process-wide map (they are what was just submitted)
    if (isObject(task.captures)) {
      for (const capture of Object.values(task.captures)) {
        if (isObject(capture) && str(capture.alias))
          fields[capture.alias as string] = capture.value;
      }
    }
    return { ...base, task, process, template, fields };
  }

  if (str(payload.checklist_id) !== undefined && str(payload.id) !== undefined) {
    const fields = isObject(payload['ko-form-fields'])
      ? payload['ko-form-fields']
      : isObject(payload.prerun)
        ? payload.prerun
        : {};
    return {
      ...base,
      task: undefined,
      process: payload,
      template: { id: payload.checklist_id, title: payload.checklist_title },
      fields: { ...fields },
    };
  }

  // API-shaped task (the reconciler sends tasks as the API returns them: run_id, alias, title)
  if (envelope.type.startsWith('task.') && str(payload.id) !== undefined) {
    return {
      ...base,
      task: payload,
      process: str(payload.run_id) ? { id: payload.run_id } : undefined,
      template: str(payload.checklist_id) ? { id: payload.checklist_id } : undefined,
      fields: {},
    };
  }

  return { ...base, task: undefined, process: undefined, template: undefined, fields: {} };
}

/** A short, stable text of a view's value for matching (`undefined` when absent). */
export function viewText(value: unknown): string | undefined {
  return str(value);
}
