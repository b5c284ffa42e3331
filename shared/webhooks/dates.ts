/**
 * Webhook date fields follow an org setting (tallyfy-api.md, "Pagination and dates"): ISO 8601
 * (the default, `2026-11-19T10:42:13Z`, sometimes date-only `2026-11-19`) or the localized
 * `d/m/Y h:i A T` (`21/11/2026 03:10 PM UTC`). Both parse to the same instant, so the dedupe key
 * of one event is the same whatever the org's setting. The parsing is the client's
 * (`shared/tallyfy/dates.ts`): one reading of Tallyfy's dates for answers and webhooks.
 */
import { tryParseTallyfyDate } from '../tallyfy/dates.ts';

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
  return tryParseTallyfyDate(text);
}
