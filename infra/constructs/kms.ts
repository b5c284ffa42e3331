/**
 * Grants on a customer managed KMS key, always through one AWS service (`kms:ViaService`): a
 * function allowed to decrypt its queue's messages must not be able to decrypt anything else
 * the customer encrypted with the same key.
 */
import { Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';

/** The services our grants let use a key. */
export type KeyService = 'dynamodb' | 'sqs' | 's3' | 'secretsmanager';

/** `<service>.<region>.amazonaws.com` for `kms:ViaService` (the region may be a token). */
export function viaService(scope: IConstruct, service: KeyService): string {
  return `${service}.${Stack.of(scope).region}.amazonaws.com`;
}

/**
 * Grants `actions` on `key` to `grantee`, only in requests `service` makes on its behalf.
 * Does nothing without a key (AWS managed or owned encryption needs no grant).
 *
 * @example
 * grantKeyVia(worker, queue.encryptionMasterKey, 'sqs', ['kms:Decrypt']);
 */
export function grantKeyVia(
  grantee: IGrantable,
  key: IKey | undefined,
  service: KeyService,
  actions: readonly string[],
): Grant | undefined {
  if (key === undefined) return undefined;
  return Grant.addToPrincipal({
    grantee,
    actions: [...actions],
    resourceArns: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': viaService(key, service) } },
  });
}
