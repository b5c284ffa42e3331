import { startSandbox } from './index.ts';

/** `npm run sandbox`: the sandbox alone, on PORT or 4010, until Ctrl-C. */
const port = Number(process.env.PORT ?? 4010);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}`);
  process.exit(1);
}

const sandbox = await startSandbox({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  log: (line) => console.log(line),
});
const d = sandbox.demo;
console.log(`Tallyfy sandbox listening: ${sandbox.url}`);
console.log(`  token endpoint   ${sandbox.url}/oauth/token (form-encoded)`);
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
