/**
 * The DynamoDB clients the registry is meant to run on, with the retry behaviour written down.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Options of {@link createOrgsDynamoClients}. */
export interface OrgsClientOptions {
  /** Endpoint override (DynamoDB Local). @default - the regional AWS endpoint */
  endpoint?: string | undefined;
  /** @default - from the environment (AWS_REGION) */
  region?: string | undefined;
  /** @default - the SDK's default provider chain */
  credentials?: DynamoDBClientConfig['credentials'];
  /**
   * Attempts per call, first one included, with the SDK's `standard` retry mode: exponential
   * back-off with full jitter (base 100 ms, cap 20 s) on throttling (ProvisionedThroughput /
   * RequestLimitExceeded / ThrottlingException), 5xx and transient network errors, and a retry
   * quota that stops retry storms. Conditional-check failures are never retried (they are
   * answers, not faults). 5 gives up a throttled call after about 1.5 s of back-off (4 retries); a
   * Lambda's own retry (SQS redelivery, next schedule) covers longer outages.
   * @default 5
   */
  maxAttempts?: number | undefined;
}

/**
 * A low-level client (for {@link createOrgsTable}) and the document client the registry takes.
 * Create them once per process (module scope in a Lambda).
 *
 * @example
 * const { document } = createOrgsDynamoClients({ region: 'eu-west-1' });
 * const registry = createOrgRegistry({ client: document, tableName: config.orgs.tableName, clock: Date.now });
 */
export function createOrgsDynamoClients(options: OrgsClientOptions = {}): {
  client: DynamoDBClient;
  document: DynamoDBDocumentClient;
} {
  const client = new DynamoDBClient({
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? 5,
  });
  const document = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { client, document };
}
