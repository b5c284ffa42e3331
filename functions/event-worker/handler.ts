import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processBatch, type WorkerDeps } from '../../shared/automations/index.ts';

/** What the handler needs: the worker's ports, and a metrics flush per invocation. */
export interface EventWorkerDeps extends WorkerDeps {
  /** Called after every batch (Powertools `publishStoredMetrics`). */
  flushMetrics?: () => void;
}

/**
 * The event worker's handler over its dependencies: SQS batch → {@link processBatch} →
 * `{ batchItemFailures }` (the event source mapping has `reportBatchItemFailures`). `index.ts`
 * builds the AWS dependencies at module scope; tests and local mode pass local ones.
 */
export function createEventWorkerHandler(
  deps: EventWorkerDeps,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    try {
      return await processBatch(deps, event);
    } finally {
      deps.flushMetrics?.();
    }
  };
}
