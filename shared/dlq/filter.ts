/**
 * Which dead letters an operator means: by org, event type, failure code and time range. The
 * CLI (`dlq list|replay --org --type --code --since --until`) and the console parse their input
 * with {@link DeadLetterFilterSchema} and select with {@link matchesDeadLetter}, so both mean
 * the same letters.
 */
import * as z from 'zod';
import { EVENT_TYPES } from '../events/index.ts';
import type { DeadLetter } from './dead-letters.ts';

const isoInstant = z.lazy(() =>
  z.iso.datetime({ offset: true }).transform((text) => new Date(text).toISOString()),
);

/** A failure code as the worker writes it (`ACTION_NOT_FOUND`, `MAX_RECEIVES_EXCEEDED`…). */
export const FailureCodeSchema = z.lazy(() =>
  z.string().regex(/^[A-Z0-9_]{1,64}$/, 'a failure code of A-Z 0-9 _ (as `dlq list` shows it)'),
);

/**
 * A dead-letter filter; every field is optional and they combine with AND. The time range is
 * half-open `[since, until)` on when the letter failed (`failedAt`, else when it was sent to
 * the DLQ).
 */
export const DeadLetterFilterSchema = z.lazy(() =>
  z
    .strictObject({
      orgId: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,128}$/, 'an org id of A-Z a-z 0-9 _ -')
        .optional(),
      type: z.enum(EVENT_TYPES).optional(),
      code: FailureCodeSchema.optional(),
      since: isoInstant.optional(),
      until: isoInstant.optional(),
    })
    .refine((f) => f.since === undefined || f.until === undefined || f.since < f.until, {
      message: 'since must be before until',
      path: ['until'],
    }),
);
export type DeadLetterFilter = z.output<typeof DeadLetterFilterSchema>;

/** When a letter failed, for the time range: the worker's `failedAt`, else its DLQ send time. */
export function failedAtOf(letter: Pick<DeadLetter, 'failedAt' | 'sentAt'>): string | undefined {
  const at = letter.failedAt ?? letter.sentAt;
  if (at === undefined) return undefined;
  const ms = Date.parse(at);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** Whether `letter` is one `filter` means. An empty filter means every letter. */
export function matchesDeadLetter(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.orgId !== undefined && letter.orgId !== filter.orgId) return false;
  if (filter.type !== undefined && letter.type !== filter.type) return false;
  if (filter.code !== undefined && letter.code !== filter.code) return false;
  if (filter.since !== undefined || filter.until !== undefined) {
    const at = failedAtOf(letter);
    if (at === undefined) return false;
    if (filter.since !== undefined && at < filter.since) return false;
    if (filter.until !== undefined && at >= filter.until) return false;
  }
  return true;
}

/** Whether the filter names nothing (every letter). */
export function isEmptyFilter(filter: DeadLetterFilter): boolean {
  return Object.values(filter).every((value) => value === undefined);
}

/** `org=… type=… code=… since=… until=…` for logs, confirmations and records. */
export function describeFilter(
  filter: DeadLetterFilter | Readonly<Record<string, string | number | undefined>>,
): string {
  const parts = Object.entries(filter)
    .filter(([name, value]) => value !== undefined && name !== 'ids')
    .map(([name, value]) => `${name === 'orgId' ? 'org' : name}=${String(value)}`);
  return parts.length === 0 ? 'every letter' : parts.join(' ');
}

/** What a replay was asked for, as one line: `2 letters by id`, `org=… code=…`, `every letter`. */
export function describeReplayRequest(
  filter: DeadLetterFilter | Readonly<Record<string, string | number | undefined>>,
): string {
  const ids = (filter as { ids?: unknown }).ids;
  const rest = describeFilter(filter);
  if (typeof ids !== 'number') return rest;
  const named = `${ids} letter${ids === 1 ? '' : 's'} by id`;
  return rest === 'every letter' ? named : `${named}, ${rest}`;
}
