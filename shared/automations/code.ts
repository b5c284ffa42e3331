/**
 * Code-level automations: a TypeScript handler registered with the same `when` as a rule. Each
 * runs as one action (rule id `code.<id>`, action 0) under the same once-only records, so its
 * handler is told when an earlier attempt is in doubt and gets the marker to look for.
 */
import * as z from 'zod';
import type { Logger } from '../observability/index.ts';
import type { JsonObject } from '../orgs/index.ts';
import type { TallyfyApi } from '../tallyfy/index.ts';
import { type When, whenSchema } from './rule-schema.ts';
import type { EventView } from './view.ts';

/** What a code automation's handler gets. */
export interface CodeAutomationContext {
  orgId: string;
  view: EventView;
  /** Embed it in what you create (a run summary, an external id) to find it on a retry. */
  marker: string;
  /**
   * An earlier attempt began and never completed: its effect may exist. Look for it by `marker`
   * and return what you find, or decide to skip.
   */
  inDoubt: boolean;
  /** The Tallyfy API acting for the org. */
  tallyfy(): TallyfyApi;
  logger: Logger;
}

/** A registered code automation. */
export interface CodeAutomation {
  /** Unique; the action records use rule id `code.<id>`. */
  id: string;
  when: When;
  /**
   * The side effect. Return a JSON object to record as the result. Throw a TallyfyError (or any
   * error) to fail: classified like a rule action's failure (transient → retried).
   */
  run(context: CodeAutomationContext): Promise<JsonObject | undefined>;
}

const idSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'an id of A-Z a-z 0-9 _ . : -');

/** The action-record rule id of a code automation. */
export const codeRuleId = (id: string): string => `code.${id}`;

/**
 * Validates a code automation (its id and `when`) and returns it.
 *
 * @example
 * export const notifyFinance = defineAutomation({
 *   id: 'notify-finance',
 *   when: { event: 'task.completed', step: { alias: 'approve-po' } },
 *   async run({ orgId, view, tallyfy }) {
 *     const comment = await tallyfy().commentOnTask(orgId, String(view.task?.id), 'Noted.');
 *     return { commentId: comment.id };
 *   },
 * });
 */
export function defineAutomation(automation: CodeAutomation): CodeAutomation {
  idSchema.parse(automation.id);
  return { ...automation, when: whenSchema.parse(automation.when) };
}
