import {
  parseReconcileEvent,
  type ReconcileDeps,
  type ReconcileResult,
  reconcile,
} from '../../shared/reconcile/index.ts';

/** What the handler needs: the use case's ports, and a metrics flush per invocation. */
export interface ReconcilerDeps extends ReconcileDeps {
  /** Called after every invocation (Powertools `publishStoredMetrics`). */
  flushMetrics?: () => void;
}

/**
 * The reconciler's handler: a scheduled event (every active org) or `{orgId}` (one org, on
 * demand) → {@link reconcile} → its result (what `POST /_local/invoke/reconciler` and Lambda
 * Invoke return to the CLI). An invalid event or an unknown org throws (the invoke fails);
 * failures of single orgs are in the result (`failedOrgs`), not thrown.
 */
export function createReconcilerHandler(
  deps: ReconcilerDeps,
): (event: unknown) => Promise<ReconcileResult> {
  return async (event) => {
    try {
      return await reconcile(deps, parseReconcileEvent(event));
    } finally {
      deps.flushMetrics?.();
    }
  };
}
