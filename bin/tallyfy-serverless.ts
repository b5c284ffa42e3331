#!/usr/bin/env node
/**
 * `tallyfy-serverless`: the operator CLI (docs/cli.md). Run it with
 * `node --import tsx bin/tallyfy-serverless.ts …`, `npm run cli -- …`, or the package `bin`.
 */
import { runCli } from './cli.ts';
import { terminalPrompts } from './prompts.ts';

// The SDK's notice about Node 20 support is not for the CLI's users (see docs/cli.md).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  prompts: terminalPrompts(process.stdin, process.stderr),
});
