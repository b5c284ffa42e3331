/**
 * The CDK app (`npx cdk synth|deploy`): settings from CDK context (cdk.json, `-c`), account and
 * region from the CLI's environment, cdk-nag's AWS Solutions checks on every synth.
 *
 * The only file of infra/ that reads process.env.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings, stackPropsFromSettings } from './settings.ts';
import { TallyfyStack } from './stack.ts';

const app = new App();
const settings = readSettings(app.node);
new TallyfyStack(app, settings.stackName, {
  ...stackPropsFromSettings(settings),
  // Whatever account/region the CLI resolved (profile, env); unset keeps the stack
  // environment-agnostic, which the default bootstrap deploys as well.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
