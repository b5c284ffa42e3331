/**
 * Helpers to acknowledge cdk-nag findings next to the resource they concern.
 *
 * cdk-nag 3 reports one finding per wildcard resource of a policy, named
 * `AwsSolutions-IAM5[Resource::<flattened ARN>]`, and only an acknowledgement with that exact id
 * silences it. The flattening below mirrors cdk-nag's own (`Ref` → `<Name>`, `Fn::GetAtt` →
 * `<Res.Attr>`, `Fn::Join` joined), so an acknowledgement follows the ARN it is about instead of
 * a string copied from a synth log.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The prefix of every AWS Solutions rule id. */
const PACK = 'AwsSolutions';

/**
 * Acknowledges one AWS Solutions rule on `scope` (and everything below it).
 *
 * @param scope - the construct the finding is about, or an ancestor
 * @param rule - the rule without the pack prefix, such as `SQS3` or `IAM5[Action::s3:Abort*]`
 * @param reason - why the finding does not apply here; specific to this resource
 *
 * @example
 * acknowledgeRule(deadLetterQueue, 'SQS3', 'This queue is the dead-letter queue.');
 */
export function acknowledgeRule(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `${PACK}-${rule}`, reason });
}

/**
 * Acknowledges the IAM5 finding cdk-nag raises for a wildcard resource ARN in a policy.
 *
 * @param scope - the grantee construct (its policies are below it) or an ancestor
 * @param arn - the ARN as passed to the policy statement (tokens allowed)
 * @param reason - why the wildcard is bounded
 *
 * @example
 * acknowledgeWildcardResource(fn, secretsArn, 'one secret pair per org, created at runtime');
 */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  const flattened = flattenCfnReference(Stack.of(scope).resolve(arn));
  acknowledgeRule(scope, `IAM5[Resource::${flattened}]`, reason);
}

/** Turns a resolved CloudFormation value into the flat string cdk-nag names findings with. */
export function flattenCfnReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const value = node as Record<string, unknown>;
    if (Array.isArray(value['Fn::Join'])) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flattenCfnReference).join(delimiter);
    }
    if ('Fn::Sub' in value) return flattenCfnReference(value['Fn::Sub']);
    if (Array.isArray(value['Fn::GetAtt'])) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
    }
    if ('Fn::ImportValue' in value) return flattenCfnReference(value['Fn::ImportValue']);
    if ('Ref' in value) return `<${flattenCfnReference(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
