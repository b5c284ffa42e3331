/**
 * The settings every AWS SDK client of ours is built with, from the `aws` config section: the
 * region and, in local mode, the endpoint of the local engine. Lambda entries and local mode
 * build their clients through this one function, so the two never differ but for credentials.
 * (No SDK import here: each function bundles only the clients it constructs.)
 */
import type { AwsConfig } from '../config.ts';

/** The AWS services we call, named as in the `aws` section's endpoint overrides. */
export type AwsService = 'dynamoDb' | 'secretsManager' | 'sqs' | 'eventBridge' | 's3' | 'lambda';

/** Static credentials (local mode's engines accept any). */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What an SDK v3 client constructor takes from us. */
export interface AwsClientSettings {
  region?: string;
  endpoint?: string;
  credentials?: StaticCredentials;
  /** S3 behind an endpoint override (a local engine) is addressed by path, not by host. */
  forcePathStyle?: boolean;
}

const ENDPOINTS: Record<AwsService, keyof AwsConfig> = {
  dynamoDb: 'dynamoDbEndpoint',
  secretsManager: 'secretsManagerEndpoint',
  sqs: 'sqsEndpoint',
  eventBridge: 'eventBridgeEndpoint',
  s3: 's3Endpoint',
  lambda: 'lambdaEndpoint',
};

/**
 * @param credentials - only local mode passes them; in AWS the SDK's provider chain applies
 * @example
 * const sqs = new SQSClient(awsClientSettings(config.aws, 'sqs'));
 */
export function awsClientSettings(
  aws: AwsConfig,
  service: AwsService,
  credentials?: StaticCredentials,
): AwsClientSettings {
  const endpoint = aws[ENDPOINTS[service]];
  return {
    ...(aws.region === undefined ? {} : { region: aws.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
    ...(service === 's3' && endpoint !== undefined ? { forcePathStyle: true } : {}),
  };
}

/**
 * A client a composition needs for the path it takes (e.g. S3 when no local archive is given).
 * @throws TypeError naming the missing client: a wiring mistake, caught at cold start
 */
export function requireClient<T>(client: T | undefined, name: string): T {
  if (client === undefined) throw new TypeError(`this composition needs the ${name} client`);
  return client;
}
