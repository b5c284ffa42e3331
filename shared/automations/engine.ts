/**
 * The automation engine: the event's matching rules (declarative and code), each action run at
 * most once per (event, rule, action) through the registry's action records:
 *
 * 1. render the action's templates (a template error fails before anything is recorded);
 * 2. `beginAction` (conditional write) BEFORE the side effect: `done` → skip with the recorded
 *    result; `busy` → another attempt holds the lease, retry the message later;
 * 3. run it; with `in_doubt` (an earlier attempt died after step 2) the action first looks for
 *    its own effect by marker (launch_process, complete_task) or follows its `onDoubt`;
 * 4. `completeAction` with the result; on a failure that certainly did nothing (4xx, 429, 503,
 *    connection refused) `abandonAction`, so the retry is a clean first attempt.
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
import { ActionBusyError, ActionFailedError, AutomationError } from './errors.ts';
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
  outcome: 'done' | 'skipped_done' | 'recovered' | 'skipped_in_doubt' | 'failed';
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
          prepare: (env: ActionEnv): PreparedAction => ({
            async run(inDoubt) {
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

/**
 * Runs the automations matching an event.
 *
 * @throws ActionFailedError / ActionBusyError / AutomationError after every matching rule had
 *   its chance: the first retryable failure if any (the message comes back), else the first
 *   permanent one (the message is dead-lettered)
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
        let result: JsonObject | undefined;
        for (let retry = 0; result === undefined; retry++) {
          try {
            result = await prepared.run(inDoubt);
          } catch (error) {
            const failure = classifyFailure(error);
            // refused before anything happened: the same attempt may simply run again, unless
            // it was a rate limit (the client already waited what it could; sooner earns a 429)
            if (
              failure.notDone &&
              failure.retryable &&
              !failure.rateLimited &&
              retry < (deps.refusalRetries ?? 2)
            ) {
              await (deps.sleep ?? defaultSleep)(
                deps.retryDelayMs?.(retry + 1) ?? 100 * 2 ** retry,
              );
              continue;
            }
            if (!failure.notDone) {
              // the effect may exist: the record stays `started` and its lease must run out
              // before the retry may take it over as an attempt in doubt
              throw new ActionFailedError(
                unit.ruleId,
                actionIndex,
                failure.code,
                error instanceof Error ? error.message : String(error),
                {
                  retryable: failure.retryable,
                  retryAfterMs: Math.max(failure.retryAfterMs ?? 0, leaseLeftMs()),
                  rateLimited: failure.rateLimited,
                  cause: error,
                },
              );
            }
            await deps.ledger
              .abandonAction(key, { attempts: begun.record.attempts })
              .catch((abandonError: unknown) =>
                // harmless: the retry then runs as an attempt in doubt and looks first
                deps.logger.warn('could not withdraw a failed action attempt', {
                  ...log,
                  error:
                    abandonError instanceof Error ? abandonError.message : String(abandonError),
                }),
              );
            throw error;
          }
        }
        await deps.ledger.completeAction(key, result);
        results.push(result);
        const outcome =
          result.skipped === 'in_doubt'
            ? 'skipped_in_doubt'
            : result.recovered === true
              ? 'recovered'
              : 'done';
        if (outcome === 'skipped_in_doubt') {
          deps.logger.warn('action attempt in doubt skipped (at most once)', log);
        }
        record({ ruleId: unit.ruleId, actionIndex, type: step.type, outcome, result });
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
          error: wrapped.message,
        });
        break; // later actions of this rule may depend on this one
      }
    }
  }

  const retryable = failures.find((f) => f.retryable);
  if (retryable) throw retryable;
  if (failures[0]) throw failures[0];
  return { matched: matched.map((u) => u.ruleId), outcomes, invalidRules: invalid };
}
