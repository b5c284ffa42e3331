/** The command tree. Built per run so tests can walk every command and option. */
import { Command, Option } from 'commander';
import { registerConsole } from './commands/console.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerDoctor } from './commands/doctor.ts';
import { examples } from './commands/help.ts';
import { registerOrgs } from './commands/orgs.ts';
import { registerReport } from './commands/report.ts';
import { registerRules } from './commands/rules.ts';
import { registerTokens } from './commands/tokens.ts';
import { registerWebhooks } from './commands/webhooks.ts';
import type { CliIo } from './io.ts';

export const CLI_NAME = 'tallyfy-serverless';

export function buildProgram(io: CliIo): Command {
  const program = new Command(CLI_NAME)
    .description(
      'Operate tallyfy-serverless: orgs, tokens, webhooks, automation rules, dead letters, reports and the operator console, in local mode or in a deployed stack.',
    )
    .version('0.1.0', '-V, --version')
    .option('--local', 'operate local mode (default when <data-dir>/local.json exists)')
    .option('--stack <name>', 'operate the deployed CloudFormation stack <name>')
    .option('--region <region>', 'AWS region of the stack (default: the SDK chain)')
    .option('--profile <name>', 'AWS profile (default: the SDK chain)')
    .addOption(new Option('--data-dir <dir>', "local mode's data directory").default('.data'))
    .option(
      '--tallyfy-url <url>',
      'Tallyfy API root with --stack (default: TALLYFY_BASE_URL or https://go.tallyfy.com/api)',
    )
    .option(
      '--oauth-url <url>',
      "Tallyfy's OAuth token endpoint (default: local mode's; with --stack TALLYFY_TOKEN_URL, else https://account.tallyfy.com/oauth/token for Tallyfy's API hosts)",
    )
    .option('--json', 'print one JSON document on stdout instead of text')
    .showHelpAfterError('(add --help for usage)')
    .addHelpCommand(false)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  examples(program, [
    'npm start                                # local mode; then, in another terminal:',
    'tallyfy-serverless orgs add              # interactive',
    'tallyfy-serverless tokens status',
    'tallyfy-serverless console                # the operator console in a browser',
    'tallyfy-serverless doctor                 # does every setting work against Tallyfy?',
    'tallyfy-serverless --stack TallyfyProd --region eu-west-1 orgs list --json',
  ]);
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 unexpected, 2 usage, 3 not found, 4 conflict, 5 credentials rejected,\n6 target unreachable, 7 forbidden, 8 partial failure, 9 remote failure, 130 cancelled.\n',
  );
  registerOrgs(program, io);
  registerTokens(program, io);
  registerWebhooks(program, io);
  registerRules(program, io);
  registerDlq(program, io);
  registerReport(program, io);
  registerConsole(program, io);
  registerDoctor(program, io);
  // every subcommand inherits the output routing and exits through the error path
  const wire = (command: Command): void => {
    command.exitOverride();
    command.configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
    command.showHelpAfterError('(add --help for usage)');
    for (const sub of command.commands) wire(sub);
  };
  wire(program);
  return program;
}
