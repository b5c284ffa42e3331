/**
 * Replays started from the console run in the background (a paced replay of many letters can
 * take minutes); the job page follows them. Each is a {@link runRecordedReplay}: recorded in
 * the registry before it starts, paced per org at the target's rate.
 */
import {
  createReplayPacer,
  type DeadLetterFilter,
  describeReplayRequest,
  type ReplayResolution,
  type ReplayResult,
  runRecordedReplay,
} from '../../shared/dlq/index.ts';
import type { ReplayRecord } from '../../shared/orgs/index.ts';
import type { Target } from '../target/index.ts';
import type { ConsoleLog } from './context.ts';

export interface ReplayJob {
  readonly replayId: string;
  readonly filterText: string;
  record: ReplayRecord;
  /** The latest result (per letter). */
  result: ReplayResult | undefined;
  done: boolean;
  error: string | undefined;
}

export interface StartReplay {
  ids: 'all' | readonly string[];
  filter: DeadLetterFilter;
  requested: number;
  /** For `ACTION_IN_DOUBT` letters (see `ReplayResolution`). @default 'resend' */
  resolution?: ReplayResolution;
  by: string;
}

export interface ReplayJobs {
  /** Starts a replay; resolves once its record is written (the job then runs on). */
  start(request: StartReplay): Promise<ReplayJob>;
  get(replayId: string): ReplayJob | undefined;
  /** Jobs of this console, newest first. */
  list(): readonly ReplayJob[];
}

export function createReplayJobs(options: {
  target: Pick<
    Target,
    'sqs' | 'deadLetterQueueUrl' | 'eventsQueueUrl' | 'registry' | 'requestsPerMinute'
  >;
  clock: () => number;
  log: ConsoleLog;
  /** Called when a job ends (the DLQ changed). */
  onFinished?: (job: ReplayJob) => void;
}): ReplayJobs {
  const { target, clock, log } = options;
  const jobs = new Map<string, ReplayJob>();
  return {
    start(request) {
      return new Promise<ReplayJob>((resolve, reject) => {
        let job: ReplayJob | undefined;
        const filterText = describeReplayRequest({
          ...request.filter,
          ...(request.ids === 'all' ? {} : { ids: request.ids.length }),
        });
        runRecordedReplay({
          client: target.sqs(),
          deadLetterQueueUrl: target.deadLetterQueueUrl(),
          eventsQueueUrl: target.eventsQueueUrl(),
          ids: request.ids,
          filter: request.filter,
          max: 10_000,
          visibilityTimeoutSeconds: 120,
          pacer: createReplayPacer({ requestsPerMinute: target.requestsPerMinute, clock }),
          clock,
          records: target.registry(),
          by: request.by,
          via: 'console',
          requested: request.requested,
          ...(request.resolution === undefined ? {} : { resolution: request.resolution }),
          ratePerMinute: target.requestsPerMinute,
          onRecord: (record) => {
            if (job === undefined) {
              job = {
                replayId: record.replayId,
                filterText,
                record,
                result: undefined,
                done: false,
                error: undefined,
              };
              jobs.set(record.replayId, job);
              resolve(job);
            } else job.record = record;
          },
          onProgress: (result) => {
            if (job !== undefined) job.result = result;
          },
        }).then(
          ({ result, record }) => {
            if (job === undefined) return;
            Object.assign(job, { result, record, done: true });
            log.info('replay finished', {
              replayId: record.replayId,
              replayed: record.replayed,
              failed: record.failed,
              skipped: record.skipped,
            });
            options.onFinished?.(job);
          },
          (error: unknown) => {
            const message =
              error instanceof Error ? `${error.name}: ${error.message}` : String(error);
            log.error('replay failed', { replayId: job?.replayId, error: message });
            if (job === undefined) {
              reject(error);
              return;
            }
            Object.assign(job, { done: true, error: message });
            options.onFinished?.(job);
          },
        );
      });
    },
    get: (replayId) => jobs.get(replayId),
    list: () => [...jobs.values()].reverse(),
  };
}
