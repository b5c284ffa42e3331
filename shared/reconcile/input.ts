import * as z from 'zod';
import { OrgIdSchema } from '../orgs/index.ts';
import { ReconcileInputError } from './errors.ts';

/** What the reconciler is invoked with: on demand `{orgId}`, else every active org. */
export interface ReconcileRequest {
  orgId?: string | undefined;
}

const onDemandSchema = z.lazy(() =>
  z.strictObject({
    orgId: OrgIdSchema,
  }),
);

/** An EventBridge rule's scheduled event (or a Scheduler payload shaped like one). */
const scheduledSchema = z.lazy(() =>
  z.looseObject({
    source: z.enum(['aws.events', 'aws.scheduler']),
    'detail-type': z.literal('Scheduled Event'),
  }),
);

/**
 * Parses the invocation event: an EventBridge scheduled event, `{}` / `null` (a bare scheduled
 * invoke), or `{orgId}` (on demand, CLI `reconcile --org`). Anything else is refused rather
 * than read as "every org": a typo (`{orgid: …}`) must not start a full run.
 *
 * @throws ReconcileInputError naming the failed check
 * @example parseReconcileEvent({ orgId: 'org5f4e3d2c1b0a' }); // { orgId: 'org5f4e3d2c1b0a' }
 */
export function parseReconcileEvent(event: unknown): ReconcileRequest {
  if (event === null || event === undefined) return {};
  if (typeof event === 'object' && !Array.isArray(event) && Object.keys(event).length === 0) {
    return {};
  }
  if (scheduledSchema.safeParse(event).success) return {};
  const parsed = onDemandSchema.safeParse(event);
  if (parsed.success) return { orgId: parsed.data.orgId };
  const checks = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ReconcileInputError(
    `The reconciler takes a scheduled event, {} or {"orgId": "<id>"}: ${checks.join('; ')}`,
    { cause: parsed.error },
  );
}
