/** Key prefix of every raw webhook body in the archive bucket (IAM grants are scoped to it). */
export const ARCHIVE_KEY_PREFIX = 'webhooks/';

/**
 * Where a raw webhook body is archived:
 * `webhooks/<orgId>/<YYYY>/<MM>/<DD>/<receivedAt>-<eventId>.json`, the date and `receivedAt`
 * (ISO 8601 basic form, `20261119T104213.123Z`) in UTC. Characters of the event id outside
 * `A-Z a-z 0-9 . _ -` become `_`, so keys need no escaping in S3 or on disk.
 *
 * @example
 * webhookArchiveKey({ orgId: 'org1', receivedAtMs: Date.UTC(2026, 10, 19, 10, 42, 13, 123),
 *   eventId: 'task.completed:t1:2026-11-19T10:42:13.000Z' });
 * // 'webhooks/org1/2026/11/19/20261119T104213.123Z-task.completed_t1_2026-11-19T10_42_13.000Z.json'
 */
export function webhookArchiveKey(input: {
  orgId: string;
  receivedAtMs: number;
  eventId: string;
}): string {
  const iso = new Date(input.receivedAtMs).toISOString();
  const day = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
  const basic = iso.replace(/[-:]/g, '');
  const id = input.eventId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${ARCHIVE_KEY_PREFIX}${input.orgId}/${day}/${basic}-${id}.json`;
}
