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

const REQUEST_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses a request's date filter value as Tallyfy reads it: `YYYY-MM-DD HH:MM:SS` in UTC (month
 * before day), a date alone, or ISO 8601 with a zone; `undefined` for anything else, such as the
 * day-before-month form older docs showed (`2026-21-11` has no month 21) or a locale's text.
 */
export function parseFilterDate(text: string): string | undefined {
  const m = REQUEST_DATE.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = m;
  const ms = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(fraction.padEnd(3, '0').slice(0, 3)),
  );
  const check = new Date(ms);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return undefined;
  }
  return isoAt(ms - zoneOffsetMs(zone));
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}
