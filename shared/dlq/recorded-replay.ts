/**
 * A replay as an operator runs it (`dlq replay`, the console): recorded before it starts (who,
 * from where, which letters, how many), paced per org, its progress and its end recorded. The
 * CLI and the console both call {@link runRecordedReplay}, so both leave the same trail.
 */
import type { OrgRegistry, ReplayRecord } from '../orgs/index.ts';
import { type ReplayOptions, type ReplayResult, replayDeadLetters } from './dead-letters.ts';
import type { DeadLetterFilter } from './filter.ts';

/** What {@link runRecordedReplay} needs besides the replay's own options. */
export interface RecordedReplayOptions extends Omit<ReplayOptions, 'onProgress'> {
  /** Where records go. */
  records: Pick<OrgRegistry, 'startReplay' | 'updateReplay'>;
  /** Who asks: an AWS principal ARN, or `<user>@<host>` in local mode. */
  by: string;
  via: 'console' | 'cli';
  /** How many letters matched when the operator confirmed (0 when not counted first). */
  requested: number;
  /** Replays per minute per org the pacer applies (recorded). */
  ratePerMinute: number;
  /** Records progress at most this often (ms). @default 2000 */
  progressEveryMs?: number;
  /** Sees the record once written and after each update (the console shows it live). */
  onRecord?: (record: ReplayRecord) => void;
  /** Sees the result after each letter. */
  onProgress?: (result: ReplayResult) => void;
}

const counts = (result: ReplayResult) => ({
  replayed: result.replayed.length,
  notDeleted: result.notDeleted.length,
  failed: result.failed.length,
  skipped: result.skipped.length,
  notFound: result.notFound.length,
});

/**
 * Records, replays, records the outcome. A replay that throws (the DLQ unreachable…) is
 * recorded `failed` with the error's message and rethrown.
 *
 * @example
 * const { result, record } = await runRecordedReplay({ client, deadLetterQueueUrl, eventsQueueUrl,
 *   ids: 'all', filter: { orgId }, pacer, records: registry, by: 'ops@laptop', via: 'cli',
 *   requested: 12, ratePerMinute: 100 });
 */
export async function runRecordedReplay(
  options: RecordedReplayOptions,
): Promise<{ result: ReplayResult; record: ReplayRecord }> {
  const clock = options.clock ?? Date.now;
  const filter: DeadLetterFilter = options.filter ?? {};
  let record = await options.records.startReplay({
    by: options.by,
    via: options.via,
    filter: {
      ...filter,
      ...(options.ids === 'all' ? {} : { ids: options.ids.length }),
    },
    requested: options.requested,
    ratePerMinute: options.ratePerMinute,
    ...(options.resolution === undefined || options.resolution === 'resend'
      ? {}
      : { resolution: options.resolution }),
  });
  options.onRecord?.(record);
  let lastWrite = clock();
  let writing: Promise<void> = Promise.resolve();
  const every = options.progressEveryMs ?? 2000;
  try {
    const result = await replayDeadLetters({
      ...options,
      onProgress: (progress) => {
        options.onProgress?.(progress);
        if (clock() - lastWrite < every) return;
        lastWrite = clock();
        // one progress write at a time; a lost progress write is overtaken by the final one
        writing = writing.then(async () => {
          record = await options.records.updateReplay(record, counts(progress));
          options.onRecord?.(record);
        });
      },
    });
    // a lost progress write is superseded by the final one, which does fail loudly
    await writing.catch(() => undefined);
    record = await options.records.updateReplay(record, { ...counts(result), status: 'finished' });
    options.onRecord?.(record);
    return { result, record };
  } catch (error) {
    // the replay's own failure is what matters here; it is recorded below
    await writing.catch(() => undefined);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    record = await options.records.updateReplay(record, {
      status: 'failed',
      error: message.slice(0, 1000),
    });
    options.onRecord?.(record);
    throw error;
  }
}
