/**
 * Ports of the automation engine. Adapters: the org registry (ledger), the Tallyfy API per org,
 * Secrets Manager (signing secrets), EventBridge (custom events); in-memory ones for tests.
 */
import type { OrgRegistry } from '../orgs/index.ts';
import type { Secret } from '../secret.ts';
import type { TallyfyApi } from '../tallyfy/index.ts';

/** Where each (event, rule, action) attempt is recorded: the org registry's action records. */
export type ActionLedger = Pick<OrgRegistry, 'beginAction' | 'completeAction' | 'abandonAction'>;

/** The Tallyfy API acting for one org (its token from the token provider). */
export type TallyfyFor = (orgId: string) => TallyfyApi;

/** Reference to an `http_post` signing secret, as a rule gives it. */
export type SigningSecretRef = { name: string } | { value: string };

/** Reads signing secrets. */
export interface SigningSecrets {
  /**
   * @throws SecretUnavailableError (permanent when the secret does not exist, transient when
   *   Secrets Manager failed)
   */
  get(ref: SigningSecretRef): Promise<Secret>;
}

/** A custom event of a `publish` action. */
export interface CustomEvent {
  detailType: string;
  detail: Record<string, unknown>;
  /** When the event it derives from happened (ISO). */
  time: string;
}

/** Puts custom events on the bus (EventBridge source `tallyfy.automations`). */
export interface CustomEventPublisher {
  /** @throws on any failure (the action is retried) */
  publish(event: CustomEvent): Promise<void>;
}
