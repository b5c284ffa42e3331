/** `--stack <name>`: the deployed stack's CloudFormation outputs (the BRIEF's contract). */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CliError } from '../errors.ts';
import { awsFailure } from './aws-errors.ts';

/** Output keys the CLI reads (infra defines them). */
export const STACK_OUTPUTS = Object.freeze({
  webhookBaseUrl: 'WebhookBaseUrl',
  orgsTable: 'OrgsTableName',
  secretPrefix: 'SecretPrefix',
  eventsQueueUrl: 'EventsQueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  eventBusName: 'EventBusName',
  reportsBucket: 'ReportsBucketName',
  archiveBucket: 'ArchiveBucketName',
  tokenRefresherFunction: 'TokenRefresherFunctionName',
  reconcilerFunction: 'ReconcilerFunctionName',
  reporterFunction: 'ReporterFunctionName',
});

/** Present only when the stack has a customer key: new org secrets are created with it. */
export const SECRETS_KEY_OUTPUT = 'SecretsKmsKeyArn';

export interface AwsLocation {
  region?: string | undefined;
  profile?: string | undefined;
}

/** The outputs of `stackName`, by key. */
export async function readStackOutputs(
  stackName: string,
  location: AwsLocation,
): Promise<Readonly<Record<string, string>>> {
  const client = new CloudFormationClient({
    ...(location.region === undefined ? {} : { region: location.region }),
    ...(location.profile === undefined ? {} : { profile: location.profile }),
  });
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (stack === undefined) {
      throw new CliError('CLI_TARGET_UNREACHABLE', `Stack ${stackName} was not found.`);
    }
    const outputs: Record<string, string> = {};
    for (const output of stack.Outputs ?? []) {
      if (output.OutputKey !== undefined && output.OutputValue !== undefined) {
        outputs[output.OutputKey] = output.OutputValue;
      }
    }
    return Object.freeze(outputs);
  } catch (error) {
    if (error instanceof CliError) throw error;
    // CloudFormation says "not found" only in the message of a ValidationError
    if (error instanceof Error && /does not exist/.test(error.message)) {
      throw new CliError('CLI_TARGET_UNREACHABLE', `Stack ${stackName} was not found.`, {
        hint: 'Check --stack, --region and --profile (the stack name is `tallyfy:stackName`, default TallyfyServerless).',
        cause: error,
      });
    }
    throw awsFailure(error, `reading the outputs of stack ${stackName}`);
  } finally {
    client.destroy();
  }
}

/** The output `key` of the stack, or a clear error naming it. */
export function requireOutput(
  outputs: Readonly<Record<string, string>>,
  key: string,
  stackName: string,
): string {
  const value = outputs[key];
  if (value === undefined || value === '') {
    throw new CliError('CLI_STACK_OUTPUT_MISSING', `Stack ${stackName} has no output ${key}.`, {
      hint: 'Deploy the current version of the stack (`npx cdk deploy`): this command needs it.',
    });
  }
  return value;
}
