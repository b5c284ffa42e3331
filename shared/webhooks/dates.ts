/**
 * Webhook date fields follow an org setting (tallyfy-api.md, "Pagination and dates"): ISO 8601
 * (the default, `2026-11-19T10:42:13Z`, sometimes date-only `2026-11-19`) or the localized
 * `d/m/Y h:i A T` (`21/11/2026 03:10 PM UTC`). Both parse to the same instant, so the dedupe key
 * of one event is the same whatever the org's setting.
 *
 * Kept here until `shared/tallyfy/dates.ts` exists; then this file should re-export from there.
 */

const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

const LOCALIZED_PATTERN =
  /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])\s+(\S+)$/;

/**
 * Zone abbreviations PHP's `T` prints, in minutes east of UTC. Only abbreviations with one
 * common meaning are listed, except `CST`, read as US Central (Tallyfy's home zone) although
 * China and Cuba use it too. `IST` (India/Ireland/Israel) is left out on purpose: a date we
 * cannot place on the time line is refused rather than guessed.
 */
const ZONE_OFFSETS_MINUTES: Readonly<Record<string, number>> = {
  UTC: 0,
  GMT: 0,
  Z: 0,
  WET: 0,
  WEST: 60,
  BST: 60,
  CET: 60,
  CEST: 120,
  EET: 120,
  EEST: 180,
  MSK: 180,
  SAST: 120,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  AKST: -540,
  AKDT: -480,
  HST: -600,
  AWST: 480,
  ACST: 570,
  ACDT: 630,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
  JST: 540,
  KST: 540,
  HKT: 480,
  SGT: 480,
  WIB: 420,
};

/**
 * Parses a Tallyfy webhook date (ISO 8601 or `d/m/Y h:i A T`) to an ISO 8601 UTC string with
 * milliseconds; `undefined` when the text is not one of those forms or names no real instant.
 * An ISO date without a zone is read as UTC (Tallyfy stores UTC).
 *
 * @example
 * parseWebhookDate('2026-11-19T10:42:13Z');    // '2026-11-19T10:42:13.000Z'
 * parseWebhookDate('21/11/2026 03:10 PM UTC'); // '2026-11-21T15:10:00.000Z'
 * parseWebhookDate('next tuesday');            // undefined
 */
export function parseWebhookDate(text: string): string | undefined {
  const trimmed = text.trim();
  const ms = parseIso(trimmed) ?? parseLocalized(trimmed);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function parseIso(text: string): number | undefined {
  const m = ISO_PATTERN.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = m;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const offset = zone === undefined ? 0 : zoneOffsetMinutes(zone);
  if (offset === undefined) return undefined;
  return instant(
    Number(y),
    Number(mo),
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    millis,
    offset,
  );
}

function parseLocalized(text: string): number | undefined {
  const m = LOCALIZED_PATTERN.exec(text);
  if (m === null) return undefined;
  const [, d, mo, y, h12, mi, s = '0', meridiem = '', zone = ''] = m;
  const hour12 = Number(h12);
  if (hour12 < 1 || hour12 > 12) return undefined;
  const hour = (hour12 % 12) + (meridiem.toUpperCase() === 'PM' ? 12 : 0);
  const offset = zoneOffsetMinutes(zone);
  if (offset === undefined) return undefined;
  return instant(Number(y), Number(mo), Number(d), hour, Number(mi), Number(s), 0, offset);
}

/** `UTC`, a listed abbreviation, `+05`, `+0530`, `+05:30`, `UTC+2`, `GMT-03:00`. */
function zoneOffsetMinutes(zone: string): number | undefined {
  const upper = zone.toUpperCase();
  const named = ZONE_OFFSETS_MINUTES[upper];
  if (named !== undefined) return named;
  const m = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(upper);
  if (m === null) return undefined;
  const [, sign, hh = '0', mm = '0'] = m;
  const hours = Number(hh);
  const minutes = Number(mm);
  if (hours > 14 || minutes > 59) return undefined;
  return (sign === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** Epoch ms of a wall-clock time at `offsetMinutes` east of UTC; undefined if no such date. */
function instant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  offsetMinutes: number,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 31/02 over to March: a date that does not round-trip does not exist
  const check = new Date(utc);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1) return undefined;
  if (check.getUTCDate() !== day) return undefined;
  return utc - offsetMinutes * 60_000;
}
