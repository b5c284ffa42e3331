/** ISO 8601 as Tallyfy's API answers (`2026-11-19T10:42:13.000Z`). */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A date as a webhook carries it for the org's date setting: ISO without milliseconds
 * (`2026-11-19T10:42:13Z`) or the localized `d/m/Y h:i A T` (`21/11/2026 03:10 PM UTC`).
 * The sandbox renders localized dates in UTC (`T` = `UTC`) whatever the org timezone.
 */
export function webhookDate(iso: string | null, format: 'iso' | 'human'): string | null {
  if (iso === null) return null;
  if (format === 'iso') return iso.replace(/\.\d{3}Z$/, 'Z');
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hours = d.getUTCHours();
  const h12 = hours % 12 === 0 ? 12 : hours % 12;
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(h12)}:${pad(d.getUTCMinutes())} ${hours < 12 ? 'AM' : 'PM'} UTC`;
}

/** Parses a request's date filter value; `undefined` when it is not a date. */
export function parseFilterDate(text: string): string | undefined {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : isoAt(ms);
}
