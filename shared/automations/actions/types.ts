import type { Logger } from '../../observability/index.ts';
import type { JsonObject } from '../../orgs/index.ts';
import type { CustomEventPublisher, SigningSecrets, TallyfyFor } from '../ports.ts';
import type { EventView } from '../view.ts';

/** What every action runs with. */
export interface ActionEnv {
  orgId: string;
  ruleId: string;
  actionIndex: number;
  /** `actionMarker(key)`: embedded in what the action creates, so a retry can find it. */
  marker: string;
  view: EventView;
  /** The template context: the view plus `actions` (results of this rule's earlier actions). */
  context: Record<string, unknown>;
  tallyfy: TallyfyFor;
  secrets: SigningSecrets;
  publisher: CustomEventPublisher;
  /** Epoch ms. */
  clock: () => number;
  logger: Logger;
}

/** What looking for an earlier attempt's effect found. */
export type EffectLookup =
  /** The effect exists: the action is done, with this result. */
  | { found: true; result: JsonObject }
  /** It certainly does not exist: the action may run. */
  | { found: false };

/**
 * An action with its templates rendered, ready to run.
 *
 * An attempt is **in doubt** when an earlier one began and its outcome is unknown (a 500 after
 * the request was sent, a timeout, a worker that died). The engine settles the doubt before
 * anything runs again:
 * - with `findEffect`, it looks in Tallyfy for the earlier attempt's mark (the comment's
 *   marker, the run named with it, the task's status): found → done, not run again; not found
 *   → `perform`. When the look cannot tell, it throws (transient: the message comes back; any
 *   other failure, or the last receive: `ACTION_IN_DOUBT`, for the operator to decide);
 * - without it, `onDoubt` says: `retry` performs it again (the action carries an idempotency
 *   key its receiver dedupes by), `dead_letter` hands the choice to the operator at once.
 */
export interface PreparedAction {
  /**
   * Performs the side effect, carrying the action's marker. `inDoubt` is true only for actions
   * that cannot look (they repeat with the same idempotency key) and code automations.
   */
  perform(inDoubt: boolean): Promise<JsonObject>;
  /** Looks in Tallyfy for the effect of an earlier attempt of this action. */
  findEffect?(): Promise<EffectLookup>;
  /** Without `findEffect`: what an attempt in doubt does. @default 'retry' */
  onDoubt?: 'retry' | 'dead_letter';
}
