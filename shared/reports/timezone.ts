/** True when `timeZone` is an IANA zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    // RangeError is Intl's one way of saying "unknown zone"
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * `ms` as local wall-clock time in `timeZone`, ISO-like with the offset:
 * `2026-11-23T07:00:00+01:00`. Built on Intl.DateTimeFormat (no time zone database of our own).
 *
 * @example
 * formatInTimeZone(Date.parse('2026-11-23T06:00:00Z'), 'Europe/Berlin'); // '2026-11-23T07:00:00+01:00'
 */
export function formatInTimeZone(ms: number, timeZone: string): string {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(ms)) parts[part.type] = part.value;
  const wall = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
  const wholeSecondMs = Math.floor(ms / 1000) * 1000;
  const offsetMinutes = Math.round((Date.parse(`${wall}Z`) - wholeSecondMs) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${wall}${offset}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
