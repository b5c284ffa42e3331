import {
  parseReconcileEvent,
  type ReconcileDeps,
  type ReconcileResult,
  reconcile,
} from '../../shared/reconcile/index.ts';
import { type InvocationContext, runDeadline } from '../../shared/run-budget.ts';

/** What the handler needs: the use case's ports, and a metrics flush per invocation. */
export interface ReconcilerDeps extends ReconcileDeps {
  /** Called after every invocation (Powertools `publishStoredMetrics`). */
  flushMetrics?: () => void;
}

/**
 * The reconciler's handler: a scheduled event (every active org) or `{orgId}` (one org, on
 * demand) → {@link reconcile} → its result (what `POST /_local/invoke/reconciler` and Lambda
 * Invoke return to the CLI). The run's budget is Lambda's remaining time less a margin: it
 * starts no org past it, and the next run starts after the last org reached. An invalid event
 * or an unknown org throws (the invoke fails); failures of single orgs are in the result
 * (`failedOrgs`), not thrown.
 */
export function createReconcilerHandler(
  deps: ReconcilerDeps,
): (event: unknown, context?: InvocationContext) => Promise<ReconcileResult> {
  return async (event, context) => {
    try {
      return await reconcile(deps, parseReconcileEvent(event), {
        deadlineAt: runDeadline(context, deps.clock),
      });
    } finally {
      deps.flushMetrics?.();
    }
  };
}
