/**
 * Adapters of the automation ports: signing secrets from Secrets Manager (cached), custom events
 * on EventBridge, and in-memory versions for tests and local mode.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BusPublishError } from '../events/index.ts';
import { Secret } from '../secret.ts';
import { signingSecretName } from '../secret-names.ts';
import { SecretUnavailableError } from './errors.ts';
import type {
  CustomEvent,
  CustomEventPublisher,
  SigningSecretRef,
  SigningSecrets,
} from './ports.ts';

/** `source` of the custom events `publish` actions put on the bus. */
export const AUTOMATIONS_EVENT_SOURCE = 'tallyfy.automations';

/** Options of {@link createSigningSecrets}. */
export interface SigningSecretsOptions {
  /** A client created once at module scope. */
  client: SecretsManagerClient;
  /** SECRET_PREFIX: `{name}` refs read `<prefix>/automations/<name>`. */
  prefix: string;
  /** Epoch ms. */
  clock: () => number;
  /** How long a read secret is reused. @default 300000 */
  ttlMs?: number;
}

/**
 * Signing secrets from Secrets Manager: `{name}` → `<prefix>/automations/<name>` (its
 * SecretString is the key), cached per container; `{value}` → the value itself.
 */
export function createSigningSecrets(options: SigningSecretsOptions): SigningSecrets {
  const ttlMs = options.ttlMs ?? 300_000;
  const cache = new Map<string, { secret: Secret; until: number }>();
  return {
    async get(ref: SigningSecretRef): Promise<Secret> {
      if ('value' in ref) return new Secret(ref.value);
      const name = signingSecretName(options.prefix, ref.name);
      const hit = cache.get(name);
      if (hit && hit.until > options.clock()) return hit.secret;
      try {
        const out = await options.client.send(new GetSecretValueCommand({ SecretId: name }));
        if (typeof out.SecretString !== 'string' || out.SecretString.length === 0) {
          throw new SecretUnavailableError(`signing secret ${name} has no SecretString`, {
            retryable: false,
          });
        }
        const secret = new Secret(out.SecretString);
        cache.set(name, { secret, until: options.clock() + ttlMs });
        return secret;
      } catch (error) {
        if (error instanceof SecretUnavailableError) throw error;
        const awsName = (error as { name?: unknown }).name;
        const missing =
          awsName === 'ResourceNotFoundException' || awsName === 'InvalidRequestException';
        throw new SecretUnavailableError(
          missing
            ? `signing secret ${name} does not exist (create it, or fix the rule's secret.name)`
            : `signing secret ${name} could not be read`,
          // never the SDK error object as is: keep its name only
          { retryable: !missing, cause: new Error(String(awsName ?? 'unknown error')) },
        );
      }
    },
  };
}

/** {@link CustomEventPublisher} over EventBridge PutEvents. */
export function createEventBridgePublisher(options: {
  client: EventBridgeClient;
  eventBusName: string;
}): CustomEventPublisher {
  return {
    async publish(event: CustomEvent) {
      const out = await options.client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: options.eventBusName,
              Source: AUTOMATIONS_EVENT_SOURCE,
              DetailType: event.detailType,
              Detail: JSON.stringify(event.detail),
              Time: new Date(event.time),
            },
          ],
        }),
      );
      if ((out.FailedEntryCount ?? 0) > 0) {
        const code = out.Entries?.[0]?.ErrorCode ?? 'unknown';
        // transient for the worker, as any bus failure: the message comes back
        throw new BusPublishError(`EventBridge refused the custom event (${code})`, []);
      }
    },
  };
}

/** An in-memory publisher that keeps what was published. */
export function memoryCustomEventPublisher(): CustomEventPublisher & {
  readonly published: readonly CustomEvent[];
} {
  const published: CustomEvent[] = [];
  return {
    published,
    async publish(event) {
      published.push(structuredClone(event));
    },
  };
}
