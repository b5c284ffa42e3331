/** `tokens refresh` (and the refresh after `orgs add`): one on-demand run of the refresher. */
import { CliError } from '../errors.ts';
import type { Target } from '../target/index.ts';
import { findRefreshOutcome, type RefreshOutcome } from './state.ts';

/** Invokes the token refresher for `orgId` (`{orgId, force}`) and returns the org's outcome. */
export async function requestRefresh(
  target: Target,
  orgId: string,
  force: boolean,
): Promise<RefreshOutcome> {
  const answer = await target.invoke('token-refresher', { orgId, force, reason: 'manual' });
  const rejected = answer as { kind?: unknown; error?: { message?: unknown } } | undefined;
  if (rejected?.kind === 'rejected') {
    throw new CliError(
      'CLI_REMOTE_FAILED',
      `The token refresher rejected the request: ${String(rejected.error?.message ?? 'invalid event')}.`,
    );
  }
  const outcome = findRefreshOutcome(answer, orgId);
  if (outcome === undefined) {
    throw new CliError(
      'CLI_REMOTE_FAILED',
      `The token refresher's answer names no outcome for ${orgId}.`,
      {
        hint: 'See the refresher log; `tokens status` shows what it recorded.',
      },
    );
  }
  return outcome;
}

/** One line about an outcome. */
export function describeOutcome(outcome: RefreshOutcome): string {
  switch (outcome.outcome) {
    case 'refreshed':
      return `token refreshed (${outcome.grant ?? 'grant'}), expires ${outcome.expiresAt ?? '?'}`;
    case 'recovered':
      return `token stored from the last grant, expires ${outcome.expiresAt ?? '?'}`;
    case 'fresh':
      return `token still fresh, expires ${outcome.expiresAt ?? '?'}`;
    case 'busy':
      return 'another refresh of this org is running; it will store the token';
    case 'skipped':
      return `not refreshed: the org is ${outcome.reason ?? 'not active'}`;
    case 'error':
      return `refresh could not run (${outcome.code ?? 'error'})`;
    case 'failed':
      return `refresh failed (${outcome.code ?? 'error'})${outcome.needsReauth ? ': the org needs new credentials' : `, next attempt ${outcome.retryAt ?? 'later'}`}`;
  }
}

/** The error (and exit code) a failed or skipped outcome means; `undefined` when it is fine. */
export function outcomeError(outcome: RefreshOutcome, orgId: string): CliError | undefined {
  if (outcome.outcome === 'failed') {
    return outcome.needsReauth === true
      ? new CliError(
          'CLI_CREDENTIALS_REJECTED',
          `Refresh of ${orgId} failed: Tallyfy rejected the stored credentials (${outcome.code ?? 'error'}).`,
          {
            hint: 'Register the org again with valid credentials (`orgs remove`, then `orgs add`).',
          },
        )
      : new CliError(
          'CLI_REMOTE_FAILED',
          `Refresh of ${orgId} failed (${outcome.code ?? 'error'}); the refresher retries at ${outcome.retryAt ?? 'its next run'}.`,
          {
            hint: 'See `tokens status` for the last error.',
          },
        );
  }
  if (outcome.outcome === 'error') {
    return new CliError(
      'CLI_REMOTE_FAILED',
      `Refresh of ${orgId} could not run (${outcome.code ?? 'error'}${outcome.message === undefined ? '' : `: ${outcome.message}`}).`,
      {
        hint: "See the token refresher's log.",
      },
    );
  }
  if (outcome.outcome === 'skipped') {
    return new CliError(
      'CLI_ORG_STATE_CONFLICT',
      `Org ${orgId} was not refreshed: it is ${outcome.reason ?? 'not active'}.`,
      {
        hint:
          outcome.reason === 'disabled'
            ? 'Enable it with `orgs enable`.'
            : 'Register new credentials (`orgs remove`, then `orgs add`).',
      },
    );
  }
  return undefined;
}
