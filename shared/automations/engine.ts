/**
 * The automation engine: the event's matching rules (declarative and code), each action run at
 * most once per (event, rule, action) through the registry's action records, and never counted
 * done unless it is known to be done:
 *
 * 1. render the action's templates (a template error fails before anything is recorded);
 * 2. `beginAction` (conditional write) BEFORE the side effect: `done` → skip with the recorded
 *    result; `busy` → another attempt holds the lease, retry the message later;
 * 3. `in_doubt` (an earlier attempt's outcome is unknown): look for its effect in Tallyfy by the
 *    action's marker (comment, run name, task status): found → done, not run again; not found →
 *    run it. Actions that cannot look resend with the same idempotency key, or hand the choice
 *    to the operator. A look that cannot tell ends as `ACTION_IN_DOUBT` (dead letter);
 * 4. run it, then `completeAction` with the result; on a failure that certainly did nothing
 *    (4xx, 429, 503, connection refused) `abandonAction`, so the retry is a clean first attempt;
 *    any other failure leaves the action in doubt for the next attempt (step 3).
 *
 * Rules run in rule-id order, then code automations in registration order; the actions of one
 * rule run in order and a failure stops that rule (its later actions wait for the retry).
 */
import { sleep as defaultSleep } from '../async.ts';
import type { EventEnvelope } from '../events/index.ts';
import type { Logger } from '../observability/index.ts';
import { actionMarker, type JsonObject, type Rule } from '../orgs/index.ts';
import { type ActionEnv, type PreparedAction, prepareAction } from './actions/index.ts';
import { type CodeAutomation, codeRuleId } from './code.ts';
import {
  ActionBusyError,
  type ActionDoubt,
  ActionFailedError,
  ActionInDoubtError,
  AutomationError,
} from './errors.ts';
import { classifyFailure } from './failures.ts';
import { matches } from './match.ts';
import type { ActionLedger, CustomEventPublisher, SigningSecrets, TallyfyFor } from './ports.ts';
import { parseRuleBody, type RuleBody, type When } from './rule-schema.ts';
import { type EventView, eventView } from './view.ts';

/** Ports and options of {@link runAutomations}. */
export interface AutomationDeps {
  ledger: ActionLedger;
  tallyfy: TallyfyFor;
  secrets: SigningSecrets;
  publisher: CustomEventPublisher;
  /** Epoch ms. */
  clock: () => number;
  logger: Logger;
  /** Registered code automations. @default [] */
  code?: readonly CodeAutomation[];
  /**
   * How long an attempt is presumed alive: longer than one action can take (the Tallyfy
   * client's 60 s budget), so a live attempt is never taken for a dead one. @default 120000
   */
  actionLeaseMs?: number;
  /** Record dedupe/action TTL. @default the registry's minimum (7 days) */
  ttlSeconds?: number;
  /**
   * In-process retries of an action whose attempt was refused before anything happened and may
   * succeed at once (503, connection refused; the client already retries 429 and idempotent
   * calls): cheaper than a trip through the queue. @default 2
   */
  refusalRetries?: number;
  /** Wait before in-process retry `n` (1-based). @default 100 ms · 2^(n-1) */
  retryDelayMs?: (retry: number) => number;
  /** @default `sleep` of shared/async.ts */
  sleep?: (ms: number) => Promise<void>;
  /** Counts outcomes. */
  onAction?: (outcome: ActionOutcome) => void;
}

/** One action's outcome, for metrics and tests. */
export interface ActionOutcome {
  ruleId: string;
  actionIndex: number;
  type: string;
  /**
   * `done`: performed now; `skipped_done`: done before; `recovered`: an attempt in doubt found
   * its earlier effect (not performed again); `marked_done`: the operator marked an action in
   * doubt done (a replay with `--in-doubt done`); `failed`.
   */
  outcome: 'done' | 'skipped_done' | 'recovered' | 'marked_done' | 'failed';
  /** This attempt settled an earlier one whose outcome was unknown (looked, then found or redone). */
  inDoubt?: boolean;
  result?: JsonObject;
  code?: string;
}

/** What {@link runAutomations} did. */
export interface AutomationsResult {
  /** Rule ids (and `code.<id>`) that matched. */
  matched: string[];
  outcomes: ActionOutcome[];
  /** Rules whose body failed the schema (logged, skipped). */
  invalidRules: string[];
}

interface Unit {
  ruleId: string;
  when: When;
  /** Actions as (type, prepare) pairs, so code and rule actions share one loop. */
  steps: Array<{ type: string; prepare(env: ActionEnv): PreparedAction }>;
}

function unitsFor(rules: readonly Rule[], code: readonly CodeAutomation[], logger: Logger) {
  const units: Unit[] = [];
  const invalid: string[] = [];
  for (const rule of [...rules].sort((a, b) => a.ruleId.localeCompare(b.ruleId))) {
    if (!rule.enabled) continue;
    let body: RuleBody;
    try {
      body = parseRuleBody(rule.ruleId, rule.body);
    } catch (error) {
      // one broken rule must not hold every event of the org: skip it loudly
      logger.error('automation rule is invalid; skipped', {
        orgId: rule.orgId,
        ruleId: rule.ruleId,
        error: error instanceof Error ? error.message : String(error),
      });
      invalid.push(rule.ruleId);
      continue;
    }
    units.push({
      ruleId: rule.ruleId,
      when: body.when,
      steps: body.then.map((action) => ({
        type: action.type,
        prepare: (env: ActionEnv) => prepareAction(action, env),
      })),
    });
  }
  for (const automation of code) {
    units.push({
      ruleId: codeRuleId(automation.id),
      when: automation.when,
      steps: [
        {
          type: 'code',
          // the handler is told when an earlier attempt is in doubt, and decides itself
          prepare: (env: ActionEnv): PreparedAction => ({
            async perform(inDoubt) {
              const result = await automation.run({
                orgId: env.orgId,
                view: env.view,
                marker: env.marker,
                inDoubt,
                tallyfy: () => env.tallyfy(env.orgId),
                logger: env.logger,
              });
              return result ?? {};
            },
          }),
        },
      ],
    });
  }
  return { units, invalid };
}

/** The doubts of a failure {@link runAutomations} threw (read them with {@link doubtsOfFailure}). */
const failureDoubts = new WeakMap<object, readonly ActionDoubt[]>();

/**
 * The actions an event's failure left in doubt (their effect may exist), from every rule that
 * failed: what the worker dead-letters as `ACTION_IN_DOUBT` when the event is out of receives.
 */
export function doubtsOfFailure(error: unknown): readonly ActionDoubt[] {
  if (error instanceof ActionInDoubtError) return error.doubts;
  if (typeof error === 'object' && error !== null) {
    const doubts = failureDoubts.get(error);
    if (doubts !== undefined) return doubts;
  }
  return error instanceof ActionFailedError && error.doubt !== undefined ? [error.doubt] : [];
}

/** How an operator resolved an action in doubt (a replay's `resolution`), if this one. */
function operatorResolution(
  envelope: EventEnvelope,
  ruleId: string,
  actionIndex: number,
): 'retry' | 'done' | undefined {
  const resolution = envelope.origin === 'replay' ? envelope.resolution : undefined;
  const named = resolution?.actions.some(
    (a) => a.ruleId === ruleId && a.actionIndex === actionIndex,
  );
  return named === true ? resolution?.as : undefined;
}

/**
 * Runs the automations matching an event.
 *
 * @throws ActionFailedError / ActionBusyError / AutomationError after every matching rule had
 *   its chance: the first retryable failure if any (the message comes back; the actions it left
 *   in doubt are in {@link doubtsOfFailure}); else, when an action is in doubt, an
 *   {@link ActionInDoubtError} naming every such action; else the first permanent failure
 */
export async function runAutomations(
  deps: AutomationDeps,
  envelope: EventEnvelope,
  data: unknown,
  rules: readonly Rule[],
): Promise<AutomationsResult> {
  const view: EventView = eventView(envelope, data);
  const { units, invalid } = unitsFor(rules, deps.code ?? [], deps.logger);
  const matched = units.filter((unit) => matches(unit.when, view));
  const outcomes: ActionOutcome[] = [];
  const failures: AutomationError[] = [];
  const record = (outcome: ActionOutcome) => {
    outcomes.push(outcome);
    deps.onAction?.(outcome);
  };

  for (const unit of matched) {
    const results: JsonObject[] = [];
    for (const [actionIndex, step] of unit.steps.entries()) {
      const key = { dedupeKey: envelope.id, ruleId: unit.ruleId, actionIndex };
      const marker = actionMarker(key);
      const doubt: ActionDoubt = { ruleId: unit.ruleId, actionIndex, type: step.type, marker };
      const log = { orgId: envelope.orgId, eventId: envelope.id, ruleId: unit.ruleId, actionIndex };
      try {
        const env: ActionEnv = {
          orgId: envelope.orgId,
          ruleId: unit.ruleId,
          actionIndex,
          marker,
          view,
          context: { ...view, actions: results },
          tallyfy: deps.tallyfy,
          secrets: deps.secrets,
          publisher: deps.publisher,
          clock: deps.clock,
          logger: deps.logger,
        };
        const prepared = step.prepare(env);
        const begun = await deps.ledger.beginAction(key, {
          leaseMs: deps.actionLeaseMs ?? 120_000,
          ...(deps.ttlSeconds === undefined ? {} : { ttlSeconds: deps.ttlSeconds }),
        });
        if (begun.outcome === 'done') {
          results.push(begun.record.result ?? {});
          record({ ruleId: unit.ruleId, actionIndex, type: step.type, outcome: 'skipped_done' });
          continue;
        }
        const leaseLeftMs = () => Math.max(0, Date.parse(begun.record.leaseUntil) - deps.clock());
        if (begun.outcome === 'busy') {
          throw new ActionBusyError(unit.ruleId, actionIndex, envelope.id, leaseLeftMs());
        }
        const inDoubt = begun.outcome === 'in_doubt';
        const operator = inDoubt
          ? operatorResolution(envelope, unit.ruleId, actionIndex)
          : undefined;
        let settled: { result: JsonObject; outcome: ActionOutcome['outcome'] } | undefined;
        if (operator === 'done') {
          // the operator checked and says it happened: recorded done, nothing is sent
          settled = { result: { markedDone: true, by: 'operator' }, outcome: 'marked_done' };
        } else if (inDoubt) {
          settled = await settleDoubt(prepared, doubt, operator, leaseLeftMs, deps, log);
        }
        const result =
          settled?.result ??
          (await performOnce(deps, prepared, {
            key,
            doubt,
            // only actions that cannot look repeat themselves knowingly (same idempotency key)
            repeating: inDoubt && prepared.findEffect === undefined,
            attempts: begun.record.attempts,
            leaseLeftMs,
            log,
          }));
        const outcome = settled?.outcome ?? 'done';
        await deps.ledger.completeAction(key, result);
        results.push(result);
        if (inDoubt) {
          deps.logger.info('action attempt in doubt settled', { ...log, outcome });
        }
        record({
          ruleId: unit.ruleId,
          actionIndex,
          type: step.type,
          outcome,
          ...(inDoubt ? { inDoubt: true } : {}),
          result,
        });
      } catch (error) {
        const classified = classifyFailure(error);
        const failure =
          error instanceof ActionFailedError
            ? { ...classified, code: error.causeCode }
            : classified;
        const wrapped =
          error instanceof AutomationError
            ? error
            : new ActionFailedError(
                unit.ruleId,
                actionIndex,
                failure.code,
                error instanceof Error ? error.message : String(error),
                {
                  retryable: failure.retryable,
                  retryAfterMs: failure.retryAfterMs,
                  rateLimited: failure.rateLimited,
                  cause: error,
                },
              );
        failures.push(wrapped);
        record({
          ruleId: unit.ruleId,
          actionIndex,
          type: step.type,
          outcome: 'failed',
          code: failure.code,
        });
        deps.logger.warn('automation action failed', {
          ...log,
          code: failure.code,
          retryable: wrapped.retryable,
          inDoubt: doubtsOfFailure(wrapped).length > 0,
          error: wrapped.message,
        });
        break; // later actions of this rule may depend on this one
      }
    }
  }

  const doubts = failures.flatMap((f) => [...doubtsOfFailure(f)]);
  const retryable = failures.find((f) => f.retryable);
  if (retryable) {
    failureDoubts.set(retryable, doubts);
    throw retryable;
  }
  if (doubts.length > 0) {
    const [only] = failures;
    if (failures.length === 1 && only instanceof ActionInDoubtError) throw only;
    throw new ActionInDoubtError(
      doubts,
      failures.map((f) => f.message).join('; '),
      failures[0] === undefined ? {} : { cause: failures[0] },
    );
  }
  if (failures[0]) throw failures[0];
  return { matched: matched.map((u) => u.ruleId), outcomes, invalidRules: invalid };
}

/**
 * Settles an attempt in doubt before anything runs again: looks for the earlier effect where the
 * action can (found → done with it, not run again); otherwise follows the action's `onDoubt`.
 * `undefined`: the action is to be performed.
 */
async function settleDoubt(
  prepared: PreparedAction,
  doubt: ActionDoubt,
  operator: 'retry' | undefined,
  leaseLeftMs: () => number,
  deps: AutomationDeps,
  log: Record<string, unknown>,
): Promise<{ result: JsonObject; outcome: ActionOutcome['outcome'] } | undefined> {
  if (prepared.findEffect === undefined) {
    if (prepared.onDoubt === 'dead_letter' && operator !== 'retry') {
      throw new ActionInDoubtError(
        [doubt],
        'an earlier attempt may have taken effect, and this action may not be repeated (onDoubt: dead_letter): the operator decides',
      );
    }
    return undefined;
  }
  let lookup: Awaited<ReturnType<NonNullable<PreparedAction['findEffect']>>>;
  try {
    lookup = await prepared.findEffect();
  } catch (error) {
    if (operator === 'retry') {
      // the operator asked for it to be done again, and looking cannot say it was done
      deps.logger.warn('action in doubt retried by the operator without a conclusive look', log);
      return undefined;
    }
    if (error instanceof ActionInDoubtError) throw error;
    const failure = classifyFailure(error);
    const message = `an earlier attempt may have taken effect, and looking for it failed: ${error instanceof Error ? error.message : String(error)}`;
    if (!failure.retryable) {
      throw new ActionInDoubtError([doubt], message, { cause: error });
    }
    // the record stays `started` (never withdrawn: the next attempt must look again)
    throw new ActionFailedError(doubt.ruleId, doubt.actionIndex, failure.code, message, {
      retryable: true,
      retryAfterMs: Math.max(failure.retryAfterMs ?? 0, leaseLeftMs()),
      rateLimited: failure.rateLimited,
      cause: error,
      doubt,
    });
  }
  return lookup.found
    ? { result: { ...lookup.result, recovered: true }, outcome: 'recovered' }
    : undefined;
}

/**
 * Performs the side effect. A refusal that certainly did nothing (429, 503, connection
 * refused) is tried again in-process (`refusalRetries`), then withdrawn (`abandonAction`) so the
 * retry is a clean first attempt; any other failure leaves the action in doubt: its record
 * stays `started` and the retry waits for its lease, then looks for the effect.
 */
async function performOnce(
  deps: AutomationDeps,
  prepared: PreparedAction,
  attempt: {
    key: { dedupeKey: string; ruleId: string; actionIndex: number };
    doubt: ActionDoubt;
    repeating: boolean;
    attempts: number;
    leaseLeftMs: () => number;
    log: Record<string, unknown>;
  },
): Promise<JsonObject> {
  for (let retry = 0; ; retry++) {
    try {
      return await prepared.perform(attempt.repeating);
    } catch (error) {
      const failure = classifyFailure(error);
      // refused before anything happened: the same attempt may simply run again, unless it was
      // a rate limit (the client already waited what it could; sooner earns another 429) or
      // Tallyfy asked for a wait longer than the in-process one (that is the queue's to wait)
      const delayMs = deps.retryDelayMs?.(retry + 1) ?? 100 * 2 ** retry;
      if (
        failure.notDone &&
        failure.retryable &&
        !failure.rateLimited &&
        retry < (deps.refusalRetries ?? 2) &&
        (failure.retryAfterMs ?? 0) <= Math.max(delayMs, 1000)
      ) {
        await (deps.sleep ?? defaultSleep)(delayMs);
        continue;
      }
      if (!failure.notDone) {
        // the effect may exist: the record stays `started` and its lease must run out before
        // the retry may take it over as an attempt in doubt
        throw new ActionFailedError(
          attempt.key.ruleId,
          attempt.key.actionIndex,
          failure.code,
          error instanceof Error ? error.message : String(error),
          {
            retryable: failure.retryable,
            retryAfterMs: Math.max(failure.retryAfterMs ?? 0, attempt.leaseLeftMs()),
            rateLimited: failure.rateLimited,
            cause: error,
            doubt: attempt.doubt,
          },
        );
      }
      await deps.ledger
        .abandonAction(attempt.key, { attempts: attempt.attempts })
        .catch((abandonError: unknown) =>
          // harmless: the retry then runs as an attempt in doubt and looks first
          deps.logger.warn('could not withdraw a failed action attempt', {
            ...attempt.log,
            error: abandonError instanceof Error ? abandonError.message : String(abandonError),
          }),
        );
      throw error;
    }
  }
}
