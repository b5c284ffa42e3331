/**
 * The CDK app (`npx cdk synth|deploy`): settings from CDK context (cdk.json, `-c`), cdk-nag's
 * AWS Solutions checks on every synth.
 *
 * The stack is environment-agnostic: the template names no account or region (ARNs and
 * `kms:ViaService` conditions use AWS::Region / AWS::AccountId), and `cdk deploy` puts it in the
 * account and region of the CLI's credentials. (The CLI falls back to us-east-1 in
 * CDK_DEFAULT_REGION when no region is configured; handing that to the stack would pin the
 * template there.)
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings, stackPropsFromSettings } from './settings.ts';
import { TallyfyStack } from './stack.ts';

const app = new App();
const settings = readSettings(app.node);
new TallyfyStack(app, settings.stackName, stackPropsFromSettings(settings));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
