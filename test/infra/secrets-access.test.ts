import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { orgSecretNamePatterns, SecretsAccess } from '../../infra/index.ts';
import {
  iamPatternMatches,
  newApp,
  newStack,
  policyStatements,
  resolveArn,
  TEST_ENV,
} from './support.ts';

const PREFIX = 'tallyfy-serverless/Prod';
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/** The ARN Secrets Manager gives a secret named `name` (6 random characters appended). */
function secretArnOf(name: string, suffix: string): string {
  return `arn:aws:secretsmanager:${TEST_ENV.region}:${TEST_ENV.account}:secret:${name}-${suffix}`;
}

/** Org ids as the CLI could be handed them, including hostile ones with slashes. */
const orgIds = fc.stringMatching(/^[A-Za-z0-9/_+=.@-]{1,40}$/);
const suffixes = fc.stringMatching(/^[A-Za-z0-9]{6}$/);

function grantedPatterns(kind: 'token' | 'refresher', key = false) {
  const stack = newStack(newApp());
  const secrets = new SecretsAccess(stack, 'Secrets', {
    prefix: PREFIX,
    encryptionKey: key ? Key.fromKeyArn(stack, 'Key', KEY_ARN) : undefined,
  });
  const role = new Role(stack, 'Reader', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  });
  if (kind === 'token') secrets.grantTokenRead(role);
  else secrets.grantRefresherSecrets(role);
  const statements = policyStatements(Template.fromStack(stack));
  const secretStatements = statements.filter((s) =>
    [s.Action].flat().some((action) => action.startsWith('secretsmanager:')),
  );
  const resources = secretStatements.flatMap((s) => [s.Resource].flat());
  return {
    stack,
    statements,
    actions: secretStatements.flatMap((s) => [s.Action].flat()),
    patterns: resources.map((resource) => resolveArn(stack, resource)),
  };
}

describe('SecretsAccess (IAM split)', () => {
  test('a token reader may only GetSecretValue/DescribeSecret on <prefix>/orgs/*/token-??????', () => {
    const { actions, patterns } = grantedPatterns('token');
    expect(actions.sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(patterns).toEqual([
      `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${PREFIX}/orgs/*/token-??????`,
    ]);
  });

  test('a token reader policy matches every token secret and never a credentials secret', () => {
    const { patterns } = grantedPatterns('token');
    fc.assert(
      fc.property(orgIds, suffixes, (orgId, suffix) => {
        const token = secretArnOf(`${PREFIX}/orgs/${orgId}/token`, suffix);
        const credentials = secretArnOf(`${PREFIX}/orgs/${orgId}/credentials`, suffix);
        expect(patterns.some((p) => iamPatternMatches(p, token))).toBe(true);
        expect(patterns.some((p) => iamPatternMatches(p, credentials))).toBe(false);
      }),
    );
  });

  test('the credentials secret of an org named like a token path still does not match', () => {
    const { patterns } = grantedPatterns('token');
    const hostile = secretArnOf(`${PREFIX}/orgs/x/token-abcdef/credentials`, 'Zz9Yy8');
    expect(patterns.some((p) => iamPatternMatches(p, hostile))).toBe(false);
  });

  test('the token pattern does not reach secrets of another deployment prefix', () => {
    const { patterns } = grantedPatterns('token');
    const other = secretArnOf('tallyfy-serverless/Staging/orgs/o1/token', 'abc123');
    expect(patterns.some((p) => iamPatternMatches(p, other))).toBe(false);
  });

  test('the refresher may read, write and create both secrets of every org under the prefix only', () => {
    const { actions, patterns } = grantedPatterns('refresher');
    expect(actions).toEqual(
      expect.arrayContaining([
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:CreateSecret',
      ]),
    );
    expect(patterns).toEqual([
      `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${PREFIX}/orgs/*`,
    ]);
    const credentials = secretArnOf(`${PREFIX}/orgs/o1/credentials`, 'abc123');
    const token = secretArnOf(`${PREFIX}/orgs/o1/token`, 'abc123');
    const foreign = secretArnOf('someone-else/db-password', 'abc123');
    expect(patterns.some((p) => iamPatternMatches(p, credentials))).toBe(true);
    expect(patterns.some((p) => iamPatternMatches(p, token))).toBe(true);
    expect(patterns.some((p) => iamPatternMatches(p, foreign))).toBe(false);
  });

  test('with a customer key, a token reader may decrypt through Secrets Manager only', () => {
    const { statements } = grantedPatterns('token', true);
    const kms = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')));
    expect(kms).toEqual([
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Resource: KEY_ARN,
        Condition: {
          StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
        },
      }),
    ]);
  });

  test('the name patterns are derived from the prefix', () => {
    expect(orgSecretNamePatterns('p/q')).toEqual({
      everyOrgSecret: 'p/q/orgs/*',
      tokenSecret: 'p/q/orgs/*/token-??????',
      automationSecret: 'p/q/automations/*',
    });
  });

  test('a prefix with a trailing slash is rejected naming the prop', () => {
    const stack = newStack(newApp());
    expect(() => new SecretsAccess(stack, 'Secrets', { prefix: 'tallyfy/' })).toThrow(
      /SecretsAccess: prefix must be/,
    );
  });
});
