/**
 * Token provider bench: how many Secrets Manager reads 10,000 worker token lookups cost when
 * they go through the per-container cache, against reading the secret on every lookup. Both run
 * against the local Secrets Manager through the real SDK client; the provider's clock is
 * simulated so that the 10,000 lookups span one 5-minute TTL window. See docs/tokens.md.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startLocalSecretsManager } from '../local/secrets-manager/index.ts';
import { Secret } from '../shared/secret.ts';
import { createTokenProvider, createTokenStore } from '../shared/tokens/index.ts';
import type { BenchResult } from './types.ts';

const ORGS = 10;
const LOOKUPS = 10_000;
/** Lookups in flight at once, as concurrent invocations' requests would be. */
const BATCH = 50;
const TTL_MS = 300_000;
const START = Date.parse('2026-11-22T12:00:00.000Z');

export async function run(): Promise<BenchResult[]> {
  const sm = await startLocalSecretsManager();
  const client = new SecretsManagerClient({
    endpoint: sm.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const store = createTokenStore({ client, prefix: 'tallyfy-serverless/bench' });
    const orgIds = Array.from({ length: ORGS }, (_, i) => `orgbench${i}`);
    for (const orgId of orgIds) {
      await store.writeToken(
        orgId,
        {
          accessToken: new Secret(`token-${orgId}`),
          tokenType: 'Bearer',
          expiresAt: new Date(START + 3_600_000).toISOString(),
          obtainedAt: new Date(START).toISOString(),
          authMode: 'client_credentials',
          orgId,
        },
        { clientRequestToken: randomUUID() },
      );
    }
    // A deterministic spread of lookups over the orgs (not round-robin, so batches mix orgs).
    const orgOf = (i: number) => orgIds[(i * 7 + (i >> 4)) % ORGS] as string;

    let now = START;
    const provider = createTokenProvider({
      store,
      clock: () => now,
      ttlMs: TTL_MS,
      requestRefresh: async (orgId) => {
        throw new Error(`bench tokens never need a refresh (org ${orgId})`);
      },
    });
    sm.resetStats();
    const cachedStarted = performance.now();
    for (let first = 0; first < LOOKUPS; first += BATCH) {
      // The simulated clock walks through the window: the last batch is at START + 299 s.
      now = START + Math.floor((first / LOOKUPS) * (TTL_MS - 1_000));
      await Promise.all(
        Array.from({ length: Math.min(BATCH, LOOKUPS - first) }, (_, k) =>
          provider.getToken(orgOf(first + k)),
        ),
      );
    }
    const cachedMs = performance.now() - cachedStarted;
    const reads = sm.stats().byOperation.GetSecretValue ?? 0;

    sm.resetStats();
    const naiveStarted = performance.now();
    for (let first = 0; first < LOOKUPS; first += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, LOOKUPS - first) }, (_, k) =>
          store.readToken(orgOf(first + k)),
        ),
      );
    }
    const naiveMs = performance.now() - naiveStarted;
    const naiveReads = sm.stats().byOperation.GetSecretValue ?? 0;

    return [
      {
        name: 'tokens: secret reads for 10k lookups (10 orgs, one 5-min TTL window)',
        value: reads,
        unit: 'reads',
        baseline: naiveReads,
        ratio: reads / naiveReads,
        target: 10,
        targetOf: 'value',
        better: 'lower',
        note: `GetSecretValue calls counted by the local endpoint; baseline reads the secret on every lookup; ratio = reads ÷ baseline reads; ${BATCH} lookups in flight, simulated clock over 299 s`,
      },
      {
        name: 'tokens: wall time of 10k lookups (cache vs read per lookup)',
        value: Math.round(cachedMs * 10) / 10,
        unit: 'ms',
        baseline: Math.round(naiveMs * 10) / 10,
        better: 'lower',
        note: 'local endpoint on loopback (no network latency): real Secrets Manager reads cost ~10-30 ms each',
      },
    ];
  } finally {
    client.destroy();
    await sm.close();
  }
}
