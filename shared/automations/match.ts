/**
 * Rule matching: does a `when` hold for an event view? Pure functions. Text comparisons ignore
 * case and surrounding spaces (template and step titles are typed by people); ids compare
 * exactly. A condition on something the event does not carry fails (never matches by absence),
 * except `exists: false`.
 */
import type { FieldCondition, When } from './rule-schema.ts';
import { type EventView, viewText } from './view.ts';

const fold = (text: string): string => text.trim().toLowerCase();

function sameText(actual: unknown, expected: string): boolean {
  const text = viewText(actual);
  return text !== undefined && fold(text) === fold(expected);
}

function scalarEquals(actual: unknown, expected: string | number | boolean): boolean {
  if (actual === undefined || actual === null) return false;
  if (typeof expected === 'number') {
    const n = typeof actual === 'number' ? actual : Number(viewText(actual));
    return Number.isFinite(n) && n === expected;
  }
  if (typeof expected === 'boolean') {
    return actual === expected || sameText(actual, String(expected));
  }
  return sameText(actual, expected);
}

function numeric(actual: unknown): number | undefined {
  if (typeof actual === 'number') return actual;
  const text = viewText(actual);
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text.replace(/,/g, ''));
  return Number.isFinite(n) ? n : undefined;
}

/** Whether one field value satisfies one condition. */
export function fieldMatches(actual: unknown, condition: FieldCondition): boolean {
  if (typeof condition !== 'object') return scalarEquals(actual, condition);
  const present = actual !== undefined && actual !== null && actual !== '';
  if (condition.exists !== undefined && condition.exists !== present) return false;
  if (condition.equals !== undefined && !scalarEquals(actual, condition.equals)) return false;
  if (
    condition.notEquals !== undefined &&
    (!present || scalarEquals(actual, condition.notEquals))
  ) {
    return false;
  }
  if (condition.in !== undefined && !condition.in.some((v) => scalarEquals(actual, v))) {
    return false;
  }
  if (condition.contains !== undefined) {
    const haystack = Array.isArray(actual)
      ? actual.map((v) => viewText(v) ?? '').join('\n')
      : viewText(actual);
    if (haystack === undefined || !fold(haystack).includes(fold(condition.contains))) return false;
  }
  const bounds = [condition.gt, condition.gte, condition.lt, condition.lte];
  if (bounds.some((b) => b !== undefined)) {
    const n = numeric(actual);
    if (n === undefined) return false;
    if (condition.gt !== undefined && !(n > condition.gt)) return false;
    if (condition.gte !== undefined && !(n >= condition.gte)) return false;
    if (condition.lt !== undefined && !(n < condition.lt)) return false;
    if (condition.lte !== undefined && !(n <= condition.lte)) return false;
  }
  return true;
}

/**
 * Whether `when` holds for the event.
 *
 * @example
 * matches({ event: 'task.completed', step: { alias: 'approve-po' },
 *   fields: { 'approval-decision': 'Approved' } }, view); // true
 */
export function matches(when: When, view: EventView): boolean {
  const types = Array.isArray(when.event) ? when.event : [when.event];
  if (!types.includes(view.event.type)) return false;
  if (when.template?.id !== undefined && viewText(view.template?.id) !== when.template.id) {
    return false;
  }
  if (
    when.template?.name !== undefined &&
    !sameText(view.template?.title ?? view.template?.name, when.template.name)
  ) {
    return false;
  }
  if (when.step?.alias !== undefined && !sameText(view.task?.alias, when.step.alias)) return false;
  if (when.step?.title !== undefined && !sameText(view.task?.title, when.step.title)) return false;
  for (const [alias, condition] of Object.entries(when.fields ?? {})) {
    const actual = Object.hasOwn(view.fields, alias) ? view.fields[alias] : undefined;
    if (!fieldMatches(actual, condition)) return false;
  }
  return true;
}
