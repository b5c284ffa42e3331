/**
 * How workers ask the token refresher for an on-demand refresh (REFRESH_REQUESTS): an
 * asynchronous Lambda invoke of the refresher in AWS, an in-process call in local mode. The
 * refresher single-flights requests with the org's lease, so a burst of 401s costs one grant.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod';
import { OrgIdSchema } from '../orgs/index.ts';
import type { TokensErrorCode } from './errors.ts';
import type { RefreshReason } from './provider.ts';

/** The on-demand event the token refresher accepts (and workers send). */
export const refreshRequestSchema = z.lazy(() =>
  z.strictObject({
    orgId: OrgIdSchema,
    /** Refresh even if the token is not due (a worker saw a 401). @default false */
    force: z.boolean().optional(),
    reason: z.enum(['unauthorized', 'expired', 'missing', 'manual']).optional(),
    /**
     * The worker's proof: Tallyfy rejected the token obtained at this time, and a re-read of the
     * token secret returned that same token. When it is still the org's current token the
     * refresher replaces it at once, however young; when a newer one is recorded, nothing is
     * granted (it was replaced already). Not a secret: a timestamp.
     */
    rejectedTokenObtainedAt: z.iso.datetime().optional(),
  }),
);
export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

/** `config.refreshRequests.target`. */
export type RefreshRequestTarget = { kind: 'local' } | { kind: 'lambda'; functionName: string };

export interface RefreshRequesterOptions {
  /** For `lambda`: a client created once per container. */
  lambda?: LambdaClient | undefined;
  /** For `local`: the refresher's handler (or anything that runs the request in-process). */
  local?: ((request: RefreshRequest) => Promise<unknown>) | undefined;
}

/** What a refresh request may carry besides the org and the reason. */
export interface RefreshRequestDetail {
  /** `obtainedAt` of the token Tallyfy rejected (see {@link refreshRequestSchema}). */
  rejectedTokenObtainedAt?: string | undefined;
}

/** The `requestRefresh` port of the token provider. */
export type RefreshRequester = (
  orgId: string,
  reason: RefreshReason,
  detail?: RefreshRequestDetail,
) => Promise<void>;

/** Thrown when a refresh request could not be handed over. Names the org, never a token. */
export class RefreshRequestError extends Error {
  override readonly name = 'RefreshRequestError';
  readonly code: Extract<TokensErrorCode, 'TOKENS_REFRESH_REQUEST_FAILED'> =
    'TOKENS_REFRESH_REQUEST_FAILED';
  readonly orgId: string;
  constructor(orgId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.orgId = orgId;
  }
}

/**
 * Creates the port the token provider calls after a 401 or an expired/missing token.
 * - `lambda`: `Invoke` with `InvocationType: 'Event'` (Lambda queues it and answers 202 at
 *   once: the worker does not wait for the refresh; its next lookup after the rejected-token
 *   window sees the new token). The payload is `{orgId, force: true, reason,
 *   rejectedTokenObtainedAt?}`, nothing secret.
 * - `local`: calls `options.local` and resolves when the refresh is done, so the provider's
 *   re-read sees the new token at once.
 *
 * @example
 * const requestRefresh = createRefreshRequester(config.refreshRequests.target, { lambda: new LambdaClient({}) });
 * const tokens = createTokenProvider({ store, clock: Date.now, requestRefresh });
 */
export function createRefreshRequester(
  target: RefreshRequestTarget,
  options: RefreshRequesterOptions = {},
): RefreshRequester {
  if (target.kind === 'local') {
    const local = options.local;
    if (!local) {
      throw new TypeError('createRefreshRequester: REFRESH_REQUESTS=local needs options.local');
    }
    return async (orgId, reason, detail) => {
      await local(refreshRequestSchema.parse({ orgId, force: true, reason, ...detail }));
    };
  }
  const lambda = options.lambda;
  if (!lambda) {
    throw new TypeError(
      'createRefreshRequester: a Lambda target needs options.lambda (a LambdaClient)',
    );
  }
  const { functionName } = target;
  return async (orgId, reason, detail) => {
    const request = refreshRequestSchema.parse({ orgId, force: true, reason, ...detail });
    let status: number | undefined;
    try {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(request)),
        }),
      );
      status = out.StatusCode;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'unknown';
      throw new RefreshRequestError(
        orgId,
        `Could not ask the token refresher (${functionName}) to refresh org ${orgId}: ${name}. Check the worker may lambda:InvokeFunction it.`,
        { cause: error },
      );
    }
    if (status !== 202) {
      throw new RefreshRequestError(
        orgId,
        `The token refresher (${functionName}) did not queue the refresh of org ${orgId} (status ${status ?? 'none'}, expected 202).`,
      );
    }
  };
}
