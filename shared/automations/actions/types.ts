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

/**
 * An action with its templates rendered, ready to run. `run(inDoubt)` performs the side effect;
 * with `inDoubt` an earlier attempt may already have performed it, and the action looks for it
 * first where Tallyfy lets it (or skips / repeats it as its `onDoubt` says).
 */
export interface PreparedAction {
  run(inDoubt: boolean): Promise<JsonObject>;
}
