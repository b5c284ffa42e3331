import { TallyfyDateError } from './errors.ts';

/*
 * Tallyfy's dates. Answers use ISO 8601 (`2026-11-19T10:42:13.000Z`); webhook dates follow an
 * org setting, ISO or the localized `d/m/Y h:i A T` (`21/11/2026 03:10 PM UTC`). Requests take
 * `YYYY-MM-DD HH:MM:SS` in UTC (ISO 8601 is accepted too), written by one formatter. Older docs
 * said `YYYY-DD-MM` (day before month): Tallyfy confirmed that was a documentation error.
 */

const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

const LOCALIZED_PATTERN =
  /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])\s+(\S+)$/;

/**
 * Zone abbreviations PHP's `T` prints, in minutes east of UTC. Only abbreviations with one
 * common meaning are listed, plus `CST` read as US Central (Tallyfy's home zone; China and Cuba
 * use it too). `IST` (India, Ireland, Israel) is left out on purpose: a date we cannot place on
 * the time line is refused rather than guessed. PHP prints numeric offsets (`+0530`) for zones
 * without an abbreviation; those parse too.
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
 * A Tallyfy date (ISO 8601 or `d/m/Y h:i A T`) as epoch ms; `undefined` when it is neither or
 * names no real instant. An ISO date without a zone is read as UTC (Tallyfy stores UTC).
 */
export function tryParseTallyfyDateMs(text: string): number | undefined {
  const trimmed = text.trim();
  return parseIso(trimmed) ?? parseLocalized(trimmed);
}

/**
 * A Tallyfy date as an ISO 8601 UTC string with milliseconds; `undefined` when unreadable.
 *
 * @example
 * tryParseTallyfyDate('21/11/2026 03:10 PM UTC'); // '2026-11-21T15:10:00.000Z'
 * tryParseTallyfyDate('next tuesday');            // undefined
 */
export function tryParseTallyfyDate(text: string): string | undefined {
  const ms = tryParseTallyfyDateMs(text);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/**
 * Like {@link tryParseTallyfyDate}, but an unreadable date throws a {@link TallyfyDateError}.
 *
 * @example
 * parseTallyfyDate('2026-11-19T10:42:13Z');    // '2026-11-19T10:42:13.000Z'
 * parseTallyfyDate('21/11/2026 03:10 PM EST'); // '2026-11-21T20:10:00.000Z'
 */
export function parseTallyfyDate(text: string): string {
  return new Date(parseTallyfyDateMs(text)).toISOString();
}

/** {@link parseTallyfyDate} as epoch ms (what the report's date parser port takes). */
export function parseTallyfyDateMs(text: string): number {
  const ms = tryParseTallyfyDateMs(text);
  if (ms === undefined) {
    throw new TallyfyDateError(
      `"${text.slice(0, 64)}" is not a Tallyfy date: expected ISO 8601 (2026-11-21T15:10:00Z) or d/m/Y h:i A T (21/11/2026 03:10 PM UTC) with a known zone abbreviation or a numeric offset.`,
    );
  }
  return ms;
}

/**
 * Formats a date for a Tallyfy request: `YYYY-MM-DD HH:MM:SS` in UTC, month before day (the
 * day-before-month form of older docs was a documentation error, corrected by Tallyfy).
 *
 * @throws TallyfyDateError when `date` is not a valid date
 * @example
 * formatRequestDate('2026-11-21T15:10:05Z'); // '2026-11-21 15:10:05'
 */
export function formatRequestDate(date: Date | number | string): string {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime()))
    throw new TallyfyDateError(`Cannot format an invalid date for Tallyfy.`);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
  );
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
