/** Key prefix of every report object (IAM grants are scoped to it). */
export const REPORTS_KEY_PREFIX = 'reports/';

/** Where a run's files go: `reports/<orgId>/<YYYY-MM-DD>/` (a re-run for that day overwrites). */
export function datedPrefix(orgId: string, day: string): string {
  return `${REPORTS_KEY_PREFIX}${orgId}/${day}/`;
}

/** The copy of the most recent report: `reports/<orgId>/latest/`. */
export function latestPrefix(orgId: string): string {
  return `${REPORTS_KEY_PREFIX}${orgId}/latest/`;
}
