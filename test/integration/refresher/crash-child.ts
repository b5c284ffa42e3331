/**
 * A refresher run in its own process, for the crash tests: `node --import tsx crash-child.ts
 * '<json args>'`. It refreshes one org against the parent's DynamoDB Local, local Secrets
 * Manager and sandbox; at `crashAt` it prints `CRASH_POINT <name>` and hangs, and the parent
 * kills it with SIGKILL there. Without reaching the point it prints `DONE <outcome>`.
 */
import * as z from 'zod';
import { createLogger } from '../../../shared/observability/index.ts';
import { createOrgRegistry, createOrgsDynamoClients } from '../../../shared/orgs/index.ts';
import { tallyfyOAuth } from '../../../shared/tallyfy/index.ts';
import {
  createTallyfyGrants,
  createTokenStore,
  DEFAULT_REFRESH_POLICY,
  type RefreshHooks,
  refreshOrg,
} from '../../../shared/tokens/index.ts';
import { localClient } from '../tokens/support.ts';

const argsSchema = z.strictObject({
  dynamoEndpoint: z.url(),
  tableName: z.string().min(3),
  secretsEndpoint: z.url(),
  prefix: z.string().min(1),
  tallyfyUrl: z.url(),
  tokenUrl: z.url(),
  orgId: z.string().min(1),
  clockMs: z.number().int(),
  crashAt: z.enum(['afterGrant', 'afterCredentialsWrite']),
  force: z.boolean(),
});

const args = argsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const clock = () => args.clockMs;
const { document } = createOrgsDynamoClients({
  endpoint: args.dynamoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

const freeze = (name: string) => async () => {
  process.stdout.write(`CRASH_POINT ${name}\n`);
  // keep the process alive until the parent's SIGKILL
  setInterval(() => undefined, 60_000);
  await new Promise<never>(() => undefined);
};
const hooks: RefreshHooks = { [args.crashAt]: freeze(args.crashAt) };

const result = await refreshOrg(
  {
    registry: createOrgRegistry({ client: document, tableName: args.tableName, clock }),
    secrets: createTokenStore({
      client: localClient(args.secretsEndpoint),
      prefix: args.prefix,
      clock,
    }),
    grants: createTallyfyGrants(
      tallyfyOAuth({ baseUrl: args.tallyfyUrl, tokenUrl: args.tokenUrl, clock }),
    ),
    policy: DEFAULT_REFRESH_POLICY,
    clock,
    random: Math.random,
    logger: createLogger({ serviceName: 'token-refresher', level: 'SILENT' }),
    owner: `child-${process.pid}`,
    hooks,
  },
  args.orgId,
  { force: args.force },
);
process.stdout.write(`DONE ${result.outcome}\n`);
process.exit(0);
