/**
 * The IAM split of the per-org secrets (ARCHITECTURE.md "Secrets", docs/security.md):
 *
 * - `<prefix>/orgs/<orgId>/credentials` mints tokens: the refresher (and the CLI) only;
 * - `<prefix>/orgs/<orgId>/token` holds the current access token: everyone else reads it.
 *
 * Secrets are created at runtime (one pair per org), so grants name ARN patterns, not secrets.
 * Secrets Manager appends `-` and 6 random characters to every secret ARN, which is why the
 * token pattern ends in `token-??????`: it matches exactly the token secret and can never match
 * a name ending in `/credentials-xxxxxx`, whatever the org id.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { type Grant, Grant as IamGrant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { grantKeyVia } from './kms.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/** The pattern of ARN suffixes Secrets Manager appends: `-` plus 6 random characters. */
const RANDOM_SUFFIX = '-??????';

/** Secret name patterns under a prefix, as IAM matches them (`*` any run, `?` one character). */
export function orgSecretNamePatterns(prefix: string): {
  readonly everyOrgSecret: string;
  readonly tokenSecret: string;
  readonly automationSecret: string;
} {
  return {
    everyOrgSecret: `${prefix}/orgs/*`,
    tokenSecret: `${prefix}/orgs/*/token${RANDOM_SUFFIX}`,
    // outside orgs/: an automation key can never be an org's credentials
    automationSecret: `${prefix}/automations/*`,
  };
}

/** Properties of {@link SecretsAccess}. */
export interface SecretsAccessProps {
  /**
   * Name prefix of the per-org secrets: `<prefix>/orgs/<orgId>/{credentials,token}`.
   * Letters, digits and `/_+=.@-`, no leading or trailing `/`.
   */
  readonly prefix: string;
  /**
   * Customer managed KMS key the secrets are encrypted with (the CLI creates them with it).
   * @default - the AWS managed key `aws/secretsmanager`, which needs no grant
   */
  readonly encryptionKey?: IKey;
}

/**
 * Grants on the per-org secrets, one method per side of the split.
 *
 * @example
 * const secrets = new SecretsAccess(this, 'Secrets', { prefix: 'tallyfy-serverless/prod' });
 * secrets.grantRefresherSecrets(refresher);   // credentials + token, read/write/create
 * secrets.grantTokenRead(worker);             // token only, read
 */
export class SecretsAccess extends Construct {
  /** The secret name prefix. */
  readonly prefix: string;
  /** ARN pattern of every secret of every org (credentials and token). */
  readonly everyOrgSecretArn: string;
  /** ARN pattern of the token secrets only. */
  readonly tokenSecretArn: string;
  /** ARN pattern of the automation signing secrets (`<prefix>/automations/<name>`). */
  readonly automationSecretArn: string;
  /** The customer key the secrets are encrypted with, when there is one. */
  readonly encryptionKey: IKey | undefined;

  constructor(scope: Construct, id: string, props: SecretsAccessProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*$/.test(props.prefix)) {
      throw new Error(
        `SecretsAccess: prefix must be letters, digits and /_+=.@- without leading, trailing or double '/', got "${props.prefix}"`,
      );
    }
    this.prefix = props.prefix;
    this.encryptionKey = props.encryptionKey;
    const patterns = orgSecretNamePatterns(props.prefix);
    this.everyOrgSecretArn = secretArn(this, patterns.everyOrgSecret);
    this.tokenSecretArn = secretArn(this, patterns.tokenSecret);
    this.automationSecretArn = secretArn(this, patterns.automationSecret);
  }

  /**
   * Lets `grantee` mint tokens: read, write and create any secret of any org under the prefix
   * (the token refresher; the CLI's role when it has one).
   */
  grantRefresherSecrets(grantee: IGrantable): Grant {
    const grant = IamGrant.addToPrincipal({
      grantee,
      actions: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'secretsmanager:PutSecretValue',
        // a token write creates the token secret when it is missing, with its tags
        'secretsmanager:CreateSecret',
        'secretsmanager:TagResource',
      ],
      resourceArns: [this.everyOrgSecretArn],
    });
    this.acknowledgeWildcard(
      grantee,
      this.everyOrgSecretArn,
      'One credentials/token secret pair per org, created at runtime by the CLI and the refresher; the wildcard is bounded by the deployment prefix <prefix>/orgs/.',
    );
    // GenerateDataKey encrypts a new version, Decrypt reads one (Secrets Manager calls both)
    this.grantKey(grantee, ['kms:Decrypt', 'kms:GenerateDataKey']);
    return grant;
  }

  /**
   * Lets `grantee` read the current access token of any org, and nothing else: it can use a
   * token until it expires but never mint one (workers, reconciler, reporter).
   */
  grantTokenRead(grantee: IGrantable): Grant {
    const grant = IamGrant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [this.tokenSecretArn],
    });
    this.acknowledgeWildcard(
      grantee,
      this.tokenSecretArn,
      'One token secret per org, created at runtime by the refresher; the pattern <prefix>/orgs/*/token-?????? matches token secrets only, never an org credentials secret.',
    );
    this.grantKey(grantee, ['kms:Decrypt']);
    return grant;
  }

  /**
   * Lets `grantee` read the signing keys of `http_post` automations
   * (`<prefix>/automations/<name>`, created by the operator): never an org secret.
   */
  grantAutomationSecretsRead(grantee: IGrantable): Grant {
    const grant = IamGrant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.automationSecretArn],
    });
    this.acknowledgeWildcard(
      grantee,
      this.automationSecretArn,
      'Signing keys of http_post automations are named by the rules the operator writes at runtime; the pattern <prefix>/automations/* lies outside <prefix>/orgs/, so it never matches an org credentials or token secret.',
    );
    this.grantKey(grantee, ['kms:Decrypt']);
    return grant;
  }

  private grantKey(grantee: IGrantable, actions: string[]): void {
    // Only through Secrets Manager: the key grant must not let the grantee decrypt anything
    // else the customer encrypted with the same key.
    grantKeyVia(grantee, this.encryptionKey, 'secretsmanager', actions);
  }

  private acknowledgeWildcard(grantee: IGrantable, arn: string, reason: string): void {
    if (isConstruct(grantee)) acknowledgeWildcardResource(grantee, arn, reason);
  }
}

function secretArn(scope: IConstruct, resourceName: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

function isConstruct(value: unknown): value is IConstruct {
  return Construct.isConstruct(value);
}
