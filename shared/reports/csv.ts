export type CsvCell = string | number | boolean | null;

/** Characters that make a spreadsheet treat a text cell as a formula (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * RFC 4180 CSV: CRLF line ends, a header row, cells quoted when they hold a comma, quote or
 * line break. `null` is an empty cell. A text cell that a spreadsheet would run as a formula
 * (starts with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'` (OWASP's advice): template
 * titles are user-written. Numbers are written as they are.
 *
 * @example
 * toCsv(['template', 'open'], [['Onboarding, EU', 3]]); // 'template,open\r\n"Onboarding, EU",3\r\n'
 */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvCell[]>): string {
  const lines = [header.map((name) => cell(name)).join(',')];
  for (const row of rows) lines.push(row.map((value) => cell(value)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function cell(value: CsvCell): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
