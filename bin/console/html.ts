/**
 * HTML built with a tagged template that escapes every interpolated value unless it is
 * already {@link Html} (made by `html` itself or, for markup we render ourselves such as the
 * SVG charts, by {@link trusted}). Text from Tallyfy (template titles, payloads) or from a
 * request can then never become markup by accident.
 */
import { escapeHtml } from '../../shared/reports/index.ts';

/** A fragment of markup that is safe to insert as is. */
export class Html {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/**
 * @example html`<td>${org.name}</td>` // the name is escaped
 */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new Html(out);
}

/** Markup produced by our own renderers (charts): inserted as is. */
export const trusted = (markup: string): Html => new Html(markup);

/** A query string from a record, leaving out empty values. */
export function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
