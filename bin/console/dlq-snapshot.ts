/**
 * The console's view of the dead-letter queue. SQS cannot page or filter, so one sweep reads
 * every letter (up to `max`), keeps their metadata and, within a byte budget, their bodies,
 * and hands them all back at once; pages and filters are then served from that snapshot.
 * One sweep at a time (concurrent pages share it); a snapshot older than `maxAgeMs` is
 * replaced on the next view, and an action that changes the DLQ invalidates it.
 */
import {
  countDeadLetters,
  type DeadLetter,
  getDeadLetter,
  listDeadLetters,
} from '../../shared/dlq/index.ts';
import type { Target } from '../target/index.ts';

export interface DeadLetterSnapshot {
  /** Epoch ms of the sweep. */
  readonly takenAt: number;
  /** Oldest first, as SQS handed them out. */
  readonly letters: readonly DeadLetter[];
  /** The sweep stopped at `max`: more letters may exist. */
  readonly truncated: boolean;
  /** SQS's approximate count when the sweep began. */
  readonly approximateTotal: number | null;
  /** How long the sweep took (ms). */
  readonly sweepMs: number;
}

export interface DeadLetterSnapshots {
  get(options?: { fresh?: boolean }): Promise<DeadLetterSnapshot>;
  invalidate(): void;
  /** One letter with its body: from the snapshot, else a sweep that looks for it. */
  find(id: string): Promise<DeadLetter | undefined>;
}

export interface DeadLetterSnapshotOptions {
  target: Pick<Target, 'sqs' | 'deadLetterQueueUrl'>;
  clock: () => number;
  /** @default 30000 */
  maxAgeMs?: number;
  /** Most letters one sweep reads. @default 10000 */
  max?: number;
  /** Bodies kept in memory, in all. @default 32 MiB */
  bodyBudgetBytes?: number;
}

export function createDeadLetterSnapshots(options: DeadLetterSnapshotOptions): DeadLetterSnapshots {
  const { target, clock } = options;
  const maxAgeMs = options.maxAgeMs ?? 30_000;
  const max = options.max ?? 10_000;
  let current: DeadLetterSnapshot | undefined;
  let sweeping: Promise<DeadLetterSnapshot> | undefined;
  const sweep = async (): Promise<DeadLetterSnapshot> => {
    const started = clock();
    const sqs = { client: target.sqs(), deadLetterQueueUrl: target.deadLetterQueueUrl() };
    // the count is a hint beside the list; without it the page shows the letters it swept
    const counts = await countDeadLetters(sqs).catch(() => undefined);
    const letters = await listDeadLetters({
      ...sqs,
      max,
      expectedVisible: counts?.visible,
      // a long sweep must not let its first letters reappear before it ends
      visibilityTimeoutSeconds: 120,
      bodyBudgetBytes: options.bodyBudgetBytes ?? 32 * 1024 * 1024,
    });
    return {
      takenAt: clock(),
      letters,
      truncated: letters.length >= max,
      approximateTotal: counts === undefined ? null : counts.visible + counts.inFlight,
      sweepMs: clock() - started,
    };
  };
  return {
    async get({ fresh = false } = {}) {
      if (!fresh && current !== undefined && clock() - current.takenAt < maxAgeMs) return current;
      sweeping ??= sweep().finally(() => {
        sweeping = undefined;
      });
      current = await sweeping;
      return current;
    },
    invalidate() {
      current = undefined;
    },
    async find(id) {
      const known = current?.letters.find((l) => l.messageId === id || l.eventId === id);
      if (known?.body !== undefined) return known;
      return getDeadLetter(
        {
          client: target.sqs(),
          deadLetterQueueUrl: target.deadLetterQueueUrl(),
          max,
          visibilityTimeoutSeconds: 120,
        },
        id,
      );
    },
  };
}
