/**
 * `npm start`: the whole bundle on one machine (docs/local.md). Reads `.env` and the
 * environment, starts local mode, prints where everything is, and on Ctrl-C (or SIGTERM,
 * SIGHUP) drains the work in flight and stops; a second Ctrl-C stops at once. Under npm, the
 * end of npm (`kill <pid of npm start>`: npm goes, and its shell, without passing the signal
 * on) stops it the same way.
 *
 * Exit codes: 0 stopped cleanly, 1 could not start (one line on stderr says why), 2 a stop
 * step failed, 3 stopped itself (an engine could not be kept running), 130 a second Ctrl-C.
 */
import { type LocalMode, LocalModeError, readEnvFile, startLocalMode } from './runtime/index.ts';

// the one place local mode reads the process environment: `.env` under the real environment
const env = { ...readEnvFile(process.cwd()), ...process.env };
const pretty = process.stdout.isTTY === true;
/** npm runs us as `sh -c node …`; npm sets this for its scripts. */
const underNpm = process.env.npm_lifecycle_event !== undefined;
// the SDK's notice about future Node versions is noise in a local console
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let local: LocalMode;
try {
  local = await startLocalMode({
    env,
    pretty,
    onFatal: (error) => {
      process.stderr.write(`npm start: ${error.message}\n`);
      process.exit(3);
    },
  });
} catch (error) {
  if (error instanceof LocalModeError) {
    process.stderr.write(`npm start: ${error.message}\n`);
  } else {
    process.stderr.write(`npm start: local mode failed to start: ${String(error)}\n`);
    if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  }
  process.exit(1);
}

printBanner(local);

let signals = 0;
const stop = (signal: NodeJS.Signals) => {
  signals += 1;
  if (signals > 1) {
    process.stderr.write(`\n${signal} again: stopping without draining.\n`);
    process.exit(130);
  }
  process.stdout.write(`\n${signal}: finishing work in flight, then stopping (again to force).\n`);
  local.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`npm start: stop failed: ${String(error)}\n`);
      process.exit(2);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);
if (underNpm) watchParent(() => stop('SIGTERM'));

/**
 * `kill <pid of npm start>`: npm passes SIGTERM to its shell, which ends without passing it
 * to us. Our parent going away (we are re-parented) means the same as that SIGTERM.
 */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      process.stdout.write(`\nnpm (pid ${parent}) is gone: `);
      onGone();
    }
  }, 250);
  timer.unref();
}

function printBanner(mode: LocalMode): void {
  const lines = [
    '',
    'tallyfy-serverless is running locally',
    `  health          ${mode.urls.health}`,
    `  webhooks        POST ${mode.urls.webhookBase}/<orgId>/<secret>`,
    `  Tallyfy API     ${mode.urls.tallyfy}${mode.urls.sandbox ? ' (sandbox)' : ''}`,
    `  Tallyfy tokens  ${mode.urls.tallyfyToken} (TALLYFY_TOKEN_URL)`,
  ];
  if (mode.urls.sandbox) lines.push(`  sandbox admin   ${mode.urls.sandbox}/_sandbox/demo`);
  lines.push(`  console         ${mode.urls.console}`);
  lines.push(`  data            ${mode.dataDir} (endpoints in ${mode.stateFile})`);
  for (const report of mode.salvage) {
    lines.push(
      `  salvaged        ${report.file}: kept ${report.kept}, lost ${report.lost} (${report.reason}); the damaged file is kept as ${report.keptAt}`,
    );
  }
  if (mode.orphansStopped.length > 0) {
    lines.push(
      `  recovered       stopped the DynamoDB Local a crashed run left on this data directory (pid ${mode.orphansStopped.join(', ')})`,
    );
  }
  if (mode.demo) {
    lines.push(
      '',
      `Demo org ${mode.demo.orgId}${mode.demo.registeredNow ? ' (registered now)' : ''}, rule ${mode.demo.ruleId}`,
      `  webhook URL     ${mode.demo.webhookUrl.reveal()}`,
      '  try it: complete the "Approve purchase order" task in the sandbox:',
      `    ${mode.demo.completeTaskCommand}`,
      '  then watch: webhook received -> worker -> process launched -> event on the bus',
    );
  }
  lines.push('', 'Ctrl-C stops (work in flight finishes first).', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}
