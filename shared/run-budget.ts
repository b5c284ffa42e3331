/**
 * The time budget of a scheduled run, defined once for the reconciler and the reporter: what
 * the Lambda invocation has left, less a margin for the run's last writes and its metrics.
 * Local mode and tests invoke without a context: no deadline.
 */

/** What a handler reads of the Lambda context. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** Kept back from Lambda's remaining time: the run's last writes and the metrics flush. */
export const RUN_BUDGET_MARGIN_MS = 15_000;

/**
 * The epoch ms by which a run must be done, or `undefined` without a context.
 *
 * @example const deadlineAt = runDeadline(context, Date.now); // now + remaining − 15 s
 */
export function runDeadline(
  context: InvocationContext | undefined,
  clock: () => number,
): number | undefined {
  return context === undefined
    ? undefined
    : clock() + context.getRemainingTimeInMillis() - RUN_BUDGET_MARGIN_MS;
}
