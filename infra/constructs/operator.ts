/**
 * What an operator needs against a deployed integration: the CLI with `--stack` (bin/target,
 * bin/commands) and the operator console that reads through the same target code. One grant,
 * so the permissions follow the code instead of a policy copied from the docs.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { ARCHIVE_KEY_PREFIX } from '../../shared/webhooks/archive-key.ts';
import { grantKeyVia } from './kms.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import { grantTableAccess, type OrgsTable, type TableAccess } from './orgs-table.ts';
import { REPORTS_KEY_PREFIX } from './reporter.ts';
import type { SecretsAccess } from './secrets-access.ts';

/** The resources of one integration an operator works on. */
export interface OperatorResources {
  readonly orgs: OrgsTable;
  readonly secrets: SecretsAccess;
  readonly eventsQueue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly reportsBucket: IBucket;
  /** The raw webhook archive: the console shows a dead letter's or an event's original body. */
  readonly archiveBucket: IBucket;
  /** Functions the CLI invokes: token refresher (`tokens refresh`), reconciler, reporter. */
  readonly functions: readonly IFunction[];
}

/**
 * The orgs-table access of the operator: every item action on the table (orgs add/remove,
 * enable/disable, webhook secret rotation, rules add/remove with a transaction's condition
 * check, replay records written by the console) and Query on both indexes (orgs list,
 * tokens status). Scan is not needed.
 */
export const OPERATOR_TABLE_ACCESS: readonly TableAccess[] = Object.freeze([
  {
    why: 'org, rule, watermark and event items: read, create, update, delete, batch, transact',
    actions: [
      'GetItem',
      'BatchGetItem',
      'Query',
      'PutItem',
      'UpdateItem',
      'DeleteItem',
      'BatchWriteItem',
      'ConditionCheckItem',
    ],
  },
  { why: 'orgs list', actions: ['Query'], index: 'byKind' },
  { why: 'due orgs', actions: ['Query'], index: 'byRefreshDue' },
]);

/** The Secrets Manager actions of `orgs add` / `orgs remove` / `tokens` on `<prefix>/orgs/*`. */
export const OPERATOR_SECRET_ACTIONS = Object.freeze([
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:DeleteSecret',
]);

/**
 * Grants `grantee` what the operator CLI and console do against the integration: describe the
 * stack (outputs), the orgs table (items and indexes), create/read/write/delete the org secrets,
 * receive/delete/re-send dead letters and send to the events queue, invoke the refresher,
 * reconciler and reporter, read the reports; and the customer key through those services only.
 * When `grantee` is a construct, the bounded wildcards are acknowledged for cdk-nag on it.
 */
export function grantOperatorAccess(
  scope: IConstruct,
  grantee: IGrantable,
  resources: OperatorResources,
): Grant {
  const stack = Stack.of(scope);
  const grants: Grant[] = [];
  const add = (actions: readonly string[], resourceArns: string[]) =>
    grants.push(Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns }));

  const stackArn = stack.formatArn({
    service: 'cloudformation',
    resource: 'stack',
    resourceName: `${stack.stackName}/*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  add(['cloudformation:DescribeStacks'], [stackArn]);

  grants.push(grantTableAccess(grantee, resources.orgs.table, OPERATOR_TABLE_ACCESS));

  const secretsArn = resources.secrets.everyOrgSecretArn;
  add(OPERATOR_SECRET_ACTIONS, [secretsArn]);
  const secretKey = resources.secrets.encryptionKey;
  pushIf(
    grants,
    grantKeyVia(grantee, secretKey, 'secretsmanager', ['kms:Decrypt', 'kms:GenerateDataKey']),
  );

  // dlq list / replay: receive (and hide for a while), delete once re-sent
  // (GetQueueAttributes: the console's dead-letter count)
  add(
    [
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueAttributes',
    ],
    [resources.deadLetterQueue.queueArn],
  );
  // replays go back to the events queue
  add(['sqs:SendMessage'], [resources.eventsQueue.queueArn]);
  for (const queue of [resources.deadLetterQueue, resources.eventsQueue]) {
    pushIf(
      grants,
      grantKeyVia(grantee, queue.encryptionMasterKey, 'sqs', [
        'kms:Decrypt',
        'kms:GenerateDataKey',
      ]),
    );
  }

  add(
    ['lambda:InvokeFunction'],
    resources.functions.map((fn) => fn.functionArn),
  );

  const reports = resources.reportsBucket.arnForObjects(`${REPORTS_KEY_PREFIX}*`);
  add(['s3:GetObject'], [reports]);
  add(['s3:ListBucket'], [resources.reportsBucket.bucketArn]);
  pushIf(
    grants,
    grantKeyVia(grantee, resources.reportsBucket.encryptionKey, 's3', ['kms:Decrypt']),
  );

  const archived = resources.archiveBucket.arnForObjects(`${ARCHIVE_KEY_PREFIX}*`);
  add(['s3:GetObject'], [archived]);
  add(['s3:ListBucket'], [resources.archiveBucket.bucketArn]);
  pushIf(
    grants,
    grantKeyVia(grantee, resources.archiveBucket.encryptionKey, 's3', ['kms:Decrypt']),
  );

  if (Construct.isConstruct(grantee)) {
    acknowledgeNag(grantee, { stackArn, secretsArn, reports, archived });
  }
  return grants.reduce((all, next) => all.combine(next));
}

function pushIf(grants: Grant[], grant: Grant | undefined): void {
  if (grant !== undefined) grants.push(grant);
}

function acknowledgeNag(
  grantee: IConstruct,
  arns: { stackArn: string; secretsArn: string; reports: string; archived: string },
): void {
  acknowledgeWildcardResource(
    grantee,
    arns.stackArn,
    'CloudFormation stack ARNs end in a stack id generated at creation; the wildcard covers the ids of this one stack name.',
  );
  acknowledgeWildcardResource(
    grantee,
    arns.secretsArn,
    'The operator registers and removes orgs: one credentials/token secret pair per org, created at runtime under the deployment prefix <prefix>/orgs/.',
  );
  acknowledgeWildcardResource(
    grantee,
    arns.reports,
    'Reports are read by the key the reporter chose (org id, date); the wildcard covers the reports/ prefix of this one bucket.',
  );
  acknowledgeWildcardResource(
    grantee,
    arns.archived,
    'Raw webhook bodies are read by the key the receiver chose (org, day, event); the wildcard covers the webhooks/ prefix of this one bucket.',
  );
}
