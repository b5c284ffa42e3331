/**
 * One event, start to finish: dedupe claim → org status → payload → rules → actions → publish
 * the normalized event to the bus → mark done. Throws on failure; the batch decides between
 * retry and dead-letter by the error ({@link isPermanent}).
 */

import { errorCodeOf } from '../../error-codes.ts';
import {
  EnvelopeDataMissingError,
  EnvelopeInvalidError,
  type EventBus,
  type EventEnvelope,
  envelopeData,
  type RawArchive,
} from '../../events/index.ts';
import type { Org, OrgRegistry, Rule } from '../../orgs/index.ts';
import { TallyfyError } from '../../tallyfy/index.ts';
import { type AutomationDeps, type AutomationsResult, runAutomations } from '../engine.ts';
import {
  ActionFailedError,
  AUTOMATIONS_UNEXPECTED,
  AutomationError,
  OrgUnavailableError,
} from '../errors.ts';

/** The rule id of the bus publication's action record: `_` never starts a CLI rule id. */
export const BUS_RECORD_RULE_ID = '_bus';

/** What {@link processEvent} needs. */
export interface ProcessEventDeps extends AutomationDeps {
  registry: Pick<
    OrgRegistry,
    | 'claimEvent'
    | 'getEvent'
    | 'markEvent'
    | 'touchEvent'
    | 'getOrg'
    | 'listRules'
    | 'beginAction'
    | 'completeAction'
    | 'abandonAction'
  >;
  archive: Pick<RawArchive, 'get'>;
  bus: EventBus;
  /** Cached lookups (the batch memoizes them per invocation). */
  getOrg?: (orgId: string) => Promise<Org | undefined>;
  listRules?: (orgId: string) => Promise<Rule[]>;
}

/** What happened to one event. */
export type ProcessEventResult =
  | { status: 'duplicate' }
  | { status: 'processed'; automations: AutomationsResult; published: boolean };

/** Whether a failure must go to the dead-letter queue rather than be retried. */
export function isPermanent(error: unknown): boolean {
  if (error instanceof EnvelopeInvalidError || error instanceof EnvelopeDataMissingError)
    return true;
  if (error instanceof AutomationError) return !error.retryable;
  if (error instanceof TallyfyError) return error.kind === 'permanent';
  return false;
}

/**
 * A stable machine code of a failure, for the DLQ `failureCode` attribute and metrics: the
 * error's own code (`AUTOMATIONS_ORG_NEEDS_REAUTH`, `EVENTS_ENVELOPE_INVALID`…); for a failed
 * action, the code of what failed in it (`TALLYFY_NOT_FOUND`, `TALLYFY_VALIDATION_FAILED`,
 * `AUTOMATIONS_HTTP_POST_REJECTED`…); `AUTOMATIONS_UNEXPECTED` for an error that is none of ours.
 */
export function failureCode(error: unknown): string {
  if (error instanceof ActionFailedError) return error.causeCode;
  return errorCodeOf(error, AUTOMATIONS_UNEXPECTED);
}

/**
 * Processes one parsed envelope.
 *
 * @example const result = await processEvent(deps, parseEnvelope(record.body));
 */
export async function processEvent(
  deps: ProcessEventDeps,
  envelope: EventEnvelope,
): Promise<ProcessEventResult> {
  const { registry } = deps;
  const ttl = deps.ttlSeconds === undefined ? {} : { ttlSeconds: deps.ttlSeconds };
  const claim = await registry.claimEvent(envelope.id, {
    orgId: envelope.orgId,
    origin: envelope.origin,
    ...ttl,
  });
  if (claim === 'duplicate') {
    const seen = await registry.getEvent(envelope.id);
    if (seen?.status === 'done') return { status: 'duplicate' };
    if (seen?.status === 'failed') {
      // dead-lettered before: a later delivery (the real webhook after a thin recovered event,
      // a replay, a rescue) runs it again; the action records keep each action to one effect
      await registry.markEvent(envelope.id, 'claimed');
    }
    // 'claimed': an earlier handling died (or runs now); the action records keep effects single
  }

  const org = await (deps.getOrg ?? ((id) => registry.getOrg(id, { consistent: false })))(
    envelope.orgId,
  );
  if (org === undefined) throw new OrgUnavailableError(envelope.orgId, 'not_found');
  if (org.status === 'needs_reauth') throw new OrgUnavailableError(envelope.orgId, 'needs_reauth');
  if (org.status === 'disabled') throw new OrgUnavailableError(envelope.orgId, 'disabled');

  const data = await envelopeData(envelope, deps.archive);
  const rules = await (deps.listRules ?? ((id) => registry.listRules(id)))(envelope.orgId);
  const automations = await runAutomations({ ...deps, ledger: registry }, envelope, data, rules);

  // The publication has its own record, so a redelivery after a crash between publishing and
  // marking the event done does not publish it twice (an attempt in doubt publishes again:
  // EventBridge is at-least-once anyway, consumers dedupe by detail.id).
  const key = { dedupeKey: envelope.id, ruleId: BUS_RECORD_RULE_ID, actionIndex: 0 };
  const begun = await registry.beginAction(key, { leaseMs: deps.actionLeaseMs ?? 120_000, ...ttl });
  let published = false;
  if (begun.outcome === 'first' || begun.outcome === 'in_doubt') {
    // the operator's resolution of a replay is ours, not the bus consumers'
    const { resolution: _resolution, ...normalized } = envelope;
    await deps.bus.publish([normalized]);
    await registry.completeAction(key, { published: true });
    published = true;
  } else if (begun.outcome === 'busy') {
    throw new AutomationError(
      'AUTOMATIONS_ACTION_BUSY',
      `event ${envelope.id} is being published by another attempt`,
      {
        retryable: true,
      },
    );
  }
  await registry.markEvent(envelope.id, 'done');
  return { status: 'processed', automations, published };
}
