import {
  parseReportEvent,
  type ReportDeps,
  type ReportRunResult,
  runReports,
} from '../../shared/reports/index.ts';
import { type InvocationContext, runDeadline } from '../../shared/run-budget.ts';

/**
 * The reporter's handler over its dependencies: parse the event (scheduled or on demand),
 * run the reports, log the outcome. Kept apart from `index.ts` (which builds the AWS
 * dependencies at module scope) so tests run it against local adapters.
 *
 * A bad event throws `ReportInputError` (the caller sees why); a failed org does not throw:
 * it is in the result, the log and the `ReportsFailed` metric, and the other orgs are written.
 */
export function createReporterHandler(
  deps: ReportDeps,
): (event: unknown, context?: InvocationContext) => Promise<ReportRunResult> {
  return async (event, context) => {
    const request = parseReportEvent(event, { nowMs: deps.clock(), periodDays: deps.periodDays });
    // a Retry-After is waited out only when it fits what the invocation has left
    const result = await runReports(deps, request, {
      deadlineAt: runDeadline(context, deps.clock),
    });
    const failed = result.orgs
      .filter((org) => !org.ok && org.deferred === undefined)
      .map((org) => org.orgId);
    const deferred = result.orgs
      .filter((org) => !org.ok && org.deferred !== undefined)
      .map((org) => org.orgId);
    deps.log?.info('reports finished', {
      kind: request.kind,
      since: result.period.since,
      until: result.period.until,
      orgs: result.orgs.length,
      failed,
      deferred,
    });
    return result;
  };
}
