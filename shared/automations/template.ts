/**
 * The rules' value templates: text with `{{path.to.value}}` placeholders, resolved against the
 * event's template context (see {@link templateContext}). No expressions, no helpers, no eval:
 * a placeholder is a dotted path, nothing else. Segments may hold `-` (Tallyfy aliases such as
 * `approval-decision`) and digits (array indexes).
 *
 * - `{{path}}`: the value; a missing value throws {@link TemplateError} (a typo in a rule must
 *   not silently launch a process named "PO - ").
 * - `{{path?}}`: the value, or the empty string when missing.
 * - A template that is exactly one placeholder keeps the value's type (number, object) in
 *   {@link renderValue}; inside text, objects render as JSON and scalars as `String(value)`.
 */
import { TemplateError } from './errors.ts';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)(\?)?\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)(\?)?\s*\}\}$/;
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Looks `path` up in `context`; `undefined` when any segment is missing. Own keys only. */
export function lookupPath(context: unknown, path: string): unknown {
  let current: unknown = context;
  for (const segment of path.split('.')) {
    if (FORBIDDEN.has(segment)) return undefined;
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function resolve(context: unknown, path: string, optional: boolean): unknown {
  const value = lookupPath(context, path);
  if (value === undefined && !optional) {
    throw new TemplateError(
      path,
      `template placeholder {{${path}}} names nothing in this event; fix the path, or write {{${path}?}} to allow it to be empty`,
    );
  }
  return value;
}

/**
 * Renders a template to text.
 *
 * @throws TemplateError when a non-optional placeholder names nothing
 * @example
 * renderTemplate('Issue PO for {{fields.vendor}}', { fields: { vendor: 'Northwind' } });
 * // 'Issue PO for Northwind'
 */
export function renderTemplate(template: string, context: unknown): string {
  return template.replace(PLACEHOLDER, (_match, path: string, optional?: string) =>
    text(resolve(context, path, optional === '?')),
  );
}

/**
 * Renders a template value: strings as {@link renderTemplate}, except that a string that is one
 * placeholder keeps the value's own type; arrays and objects are rendered member by member.
 *
 * @example renderValue({ amount: '{{fields.amount}}' }, { fields: { amount: 12500 } }) // { amount: 12500 }
 */
export function renderValue(value: unknown, context: unknown): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return resolve(context, whole[1] as string, whole[2] === '?') ?? '';
    return renderTemplate(value, context);
  }
  if (Array.isArray(value)) return value.map((item) => renderValue(item, context));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderValue(item, context);
    return out;
  }
  return value;
}

/** Every placeholder path in a template value (the CLI shows them when it validates a rule). */
export function templatePaths(value: unknown): string[] {
  if (typeof value === 'string') {
    return [...value.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
  }
  if (Array.isArray(value)) return value.flatMap(templatePaths);
  if (value !== null && typeof value === 'object')
    return Object.values(value).flatMap(templatePaths);
  return [];
}
