/** Builders shared by the webhook tests: fixtures, an org, in-memory ports, captured logs. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type EventQueue,
  memoryEventQueue,
  memoryRawArchive,
  type RawArchive,
} from '../../../shared/events/index.ts';
import { createLogger, memorySink } from '../../../shared/observability/index.ts';
import { Secret } from '../../../shared/secret.ts';
import {
  hashWebhookSecret,
  type ReceiveDeps,
  type ReceiveRequest,
  type WebhookAuth,
  type WebhookAuthLookup,
} from '../../../shared/webhooks/index.ts';

/** Tallyfy-shaped webhook bodies (tallyfy-api.md "Webhooks"): one file per documented shape. */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export const FIXTURE_NAMES = readdirSync(FIXTURES_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort();

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES_DIR, name), 'utf8');
}

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}

/** The org every fixture belongs to (their `X-Tallyfy-orgID`). */
export const ORG_ID = 'org5f4e3d2c1b0a';
/** A URL secret shaped like ours (32 bytes base64url). */
export const SECRET_TEXT = 'q5Vh3bJ0yXn2Lr8pWcA7tZkE1uG6sD4fM9oNiHyBvTw';
export const OTHER_SECRET_TEXT = 'Zx9Cv8Bn7Mm6Ll5Kk4Jj3Hh2Gg1Ff0DdSsAaQqWwEe';

export const NOW_MS = Date.UTC(2026, 10, 22, 9, 30, 0, 250);

/** A registry held in a Map; counts lookups so cache tests can see them. */
export function mapAuthLookup(
  orgs: Record<string, WebhookAuth>,
): WebhookAuthLookup & { lookups: number } {
  const lookup = {
    lookups: 0,
    async findWebhookAuth(orgId: string) {
      lookup.lookups++;
      return orgs[orgId];
    },
  };
  return lookup;
}

export function activeOrg(secrets: string[] = [SECRET_TEXT]): WebhookAuth {
  return { status: 'active', hashes: secrets.map((s) => hashWebhookSecret(new Secret(s))) };
}

/** In-memory ports around one active org, with every log line captured at DEBUG. */
export function receiverDeps(overrides: Partial<ReceiveDeps> = {}) {
  const captured = memorySink();
  const queue = memoryEventQueue();
  const archive = memoryRawArchive();
  const deps: ReceiveDeps = {
    auth: mapAuthLookup({ [ORG_ID]: activeOrg() }),
    queue: queue as EventQueue,
    archive: archive as RawArchive,
    clock: () => NOW_MS,
    logger: createLogger({
      serviceName: 'webhook-receiver-test',
      level: 'DEBUG',
      sink: captured.sink,
    }),
    ...overrides,
  };
  return { deps, queue, archive, captured };
}

/** A well-formed request for `body` (a fixture text by default). */
export function request(
  overrides: Partial<ReceiveRequest> & { body?: ReceiveRequest['body'] } = {},
) {
  const base: ReceiveRequest = {
    orgId: ORG_ID,
    secret: new Secret(SECRET_TEXT),
    headers: { 'content-type': 'application/json', 'x-tallyfy-orgid': ORG_ID },
    body: fixtureText('task-completed.json'),
  };
  return { ...base, ...overrides };
}
