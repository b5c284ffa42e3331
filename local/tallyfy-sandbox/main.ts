import { startSandbox } from './index.ts';

/**
 * `npm run sandbox`: the sandbox alone, its API on PORT (4010) and its token endpoint on
 * TOKEN_PORT (PORT + 1: another origin, as in production), until Ctrl-C.
 */
const portOf = (name: string, fallback: number): number => {
  const port = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name} must be a port number, got ${process.env[name]}`);
    process.exit(1);
  }
  return port;
};
const port = portOf('PORT', 4010);
const tokenPort = portOf('TOKEN_PORT', port === 0 ? 0 : port + 1);

const sandbox = await startSandbox({
  port,
  tokenPort,
  host: process.env.HOST ?? '127.0.0.1',
  log: (line) => console.log(line),
});
const d = sandbox.demo;
console.log(`Tallyfy sandbox listening: ${sandbox.url}`);
console.log(`  token endpoint   ${sandbox.tokenUrl} (form-encoded; TALLYFY_TOKEN_URL)`);
console.log(`  admin            ${sandbox.origin}/_sandbox/stats, ${sandbox.origin}/_sandbox/demo`);
console.log('Demo (local use only):');
console.log(`  org              ${d.orgId} (${d.orgName})`);
console.log(`  admin user       ${d.admin.email} / ${d.admin.password} (${d.admin.id})`);
console.log(`  standard user    ${d.standard.email} / ${d.standard.password} (${d.standard.id})`);
console.log(`  password client  ${d.passwordClient.clientId} / ${d.passwordClient.clientSecret}`);
console.log(
  `  app client       ${d.appClient.clientId} / ${d.appClient.clientSecret} (client_credentials, scope *)`,
);
console.log(`  template         ${d.templates.purchaseOrder.id} (Purchase order)`);
console.log(`  open run         ${d.runs.purchaseOrderOpen}, task approve-po ${d.tasks.approvePo}`);
console.log(
  `  complete a task  curl -X POST ${sandbox.origin}/_sandbox/orgs/${d.orgId}/tasks/${d.tasks.approvePo}/complete`,
);
console.log('Every API call needs the header X-Tallyfy-Client: APIClient. Ctrl-C stops.');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  sandbox.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
