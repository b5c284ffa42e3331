/**
 * Shared arrangements of the infra tests: apps configured like cdk.json, the cdk-nag plugin,
 * and IAM pattern matching for the secret split.
 */
import { readFileSync } from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

/** Feature flags of cdk.json (not our `tallyfy:` settings), so tests synthesize like the CLI. */
export const FEATURE_FLAGS = Object.fromEntries(
  Object.entries(cdkJson.context).filter(([key]) => !key.startsWith('tallyfy:')),
);

/** The `tallyfy:` settings cdk.json ships. */
export const CDK_JSON_SETTINGS = Object.fromEntries(
  Object.entries(cdkJson.context).filter(([key]) => key.startsWith('tallyfy:')),
);

/**
 * An App with cdk.json's feature flags and the cdk-nag AWS Solutions checks. Bundling is
 * skipped unless `bundle` is set (one test bundles for real).
 */
export function newApp(
  options: {
    readonly bundle?: boolean;
    readonly context?: Record<string, unknown>;
    /** Where the cloud assembly goes. @default - a new temporary directory */
    readonly outdir?: string;
  } = {},
): App {
  const app = new App({
    outdir: options.outdir,
    context: {
      ...FEATURE_FLAGS,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** A concrete environment so ARNs resolve to plain strings where CDK can. */
export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' } as const;

/**
 * Resolves a CloudFormation value (Fn::Join, pseudo parameter Refs) to a string for
 * {@link TEST_ENV}, the way CloudFormation would at deploy.
 */
export function resolveArn(stack: Stack, value: unknown): string {
  const resolved = stack.resolve(value) as unknown;
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (node && typeof node === 'object') {
      const object = node as Record<string, unknown>;
      if (Array.isArray(object['Fn::Join'])) {
        const [delimiter, parts] = object['Fn::Join'] as [string, unknown[]];
        return parts.map(visit).join(delimiter);
      }
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': TEST_ENV.region,
        'AWS::AccountId': TEST_ENV.account,
      };
      const ref = object.Ref;
      if (typeof ref === 'string' && pseudo[ref]) return pseudo[ref];
    }
    throw new Error(`cannot resolve ${JSON.stringify(node)}`);
  };
  return visit(resolved);
}

/** IAM's resource matching: `*` any run of characters (including `/`), `?` exactly one. */
export function iamPatternMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .split('')
    .map((char) => {
      if (char === '*') return '.*';
      if (char === '?') return '.';
      return char.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${regex}$`, 's').test(arn);
}

/** One IAM policy statement as synthesized. */
export interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every IAM policy statement of a template, flattened. */
export function policyStatements(template: Template): PolicyStatementJson[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      (policy.Properties.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement,
  );
}

/** A fresh stack in {@link TEST_ENV}. */
export function newStack(app: App, id = 'Test'): Stack {
  return new Stack(app, id, { env: TEST_ENV });
}
