import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Secret } from '../../shared/secret.ts';
import { type ReceiveDeps, receiveWebhook } from '../../shared/webhooks/index.ts';

/** What the handler needs: the use case's ports, and a metrics flush per invocation. */
export interface WebhookReceiverDeps extends ReceiveDeps {
  /** Called after every request (Powertools `publishStoredMetrics`). */
  flushMetrics?: () => void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * The receiver's handler over its dependencies: API Gateway HTTP API (payload v2) event →
 * {@link receiveWebhook} → proxy result. `index.ts` builds the AWS dependencies at module
 * scope; tests pass in-memory ones.
 */
export function createWebhookReceiverHandler(
  deps: WebhookReceiverDeps,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  return async (event) => {
    try {
      if (event.requestContext.http.method !== 'POST') {
        return {
          statusCode: 405,
          headers: { ...JSON_HEADERS, allow: 'POST' },
          body: JSON.stringify({
            error: {
              code: 'WEBHOOKS_METHOD_NOT_ALLOWED',
              message: 'Webhooks are delivered with POST.',
            },
          }),
        };
      }
      const response = await receiveWebhook(deps, {
        orgId: event.pathParameters?.orgId ?? '',
        // wrapped at once: from here on the URL secret prints as [redacted]
        secret: new Secret(event.pathParameters?.secret ?? ''),
        headers: event.headers ?? {},
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
        // a field on each line, not a child logger: createChild costs ~40 µs per request
        requestId: event.requestContext.requestId,
      });
      return {
        statusCode: response.status,
        headers: JSON_HEADERS,
        body: JSON.stringify(response.body),
      };
    } finally {
      deps.flushMetrics?.();
    }
  };
}
