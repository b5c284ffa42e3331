/**
 * The demo org of local mode: on the first start against the sandbox, the sandbox's demo org is
 * registered as a user would register it (credentials secret, org item with a webhook-URL
 * hash, one automation rule), and its webhook URL is given to the sandbox on every start.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseRuleBody } from '../../shared/automations/rule-schema.ts';
import { scrubSecrets } from '../../shared/observability/index.ts';
import type { OrgRegistry, RuleInput } from '../../shared/orgs/index.ts';
import { Secret } from '../../shared/secret.ts';
import type { TokenStore } from '../../shared/tokens/index.ts';
import { hashWebhookSecret } from '../../shared/webhooks/index.ts';
import type { DemoIds, StartedSandbox } from '../tallyfy-sandbox/index.ts';
import { LocalModeError } from './errors.ts';

export const DEMO_RULE_ID = 'demo-po-approved';

/**
 * The demo's automation: when finance completes "Approve purchase order" in a "Purchase order"
 * process, launch a follow-up process and comment on the approved task. Checked against the
 * rules schema, so a rules-format change fails the first start loudly instead of at the worker.
 */
export function demoRule(demo: DemoIds): RuleInput {
  const body = {
    description: 'Demo: an approved purchase order launches a follow-up process and says so',
    when: {
      event: 'task.completed',
      template: { id: demo.templates.purchaseOrder.id },
      step: { alias: 'approve-po' },
    },
    // biome-ignore lint/suspicious/noThenProperty: `then` is the rules format's action list
    then: [
      {
        type: 'launch_process',
        template: demo.templates.onboarding.id,
        name: 'Follow-up: {{process.name}}',
      },
      {
        type: 'comment_on_task',
        content:
          'Approved. tallyfy-serverless launched the follow-up process (rule demo-po-approved).',
      },
    ],
  } as const;
  parseRuleBody(DEMO_RULE_ID, body);
  return { ruleId: DEMO_RULE_ID, body: structuredClone(body) as unknown as RuleInput['body'] };
}

export interface DemoDeps {
  registry: OrgRegistry;
  tokens: TokenStore;
  /** Holds the demo's webhook URL secret (`<prefix>/local/demo/webhook-secret`). */
  secretsClient: SecretsManagerClient;
  secretPrefix: string;
  /** `http://127.0.0.1:<port>`: the webhook URL is `<origin>/hooks/<orgId>/<secret>`. */
  origin: string;
}

export interface DemoOrg {
  orgId: string;
  /** Holds the URL secret: print it to the user, never to a log. */
  webhookUrl: Secret;
  /** Whether this start registered it (first start). */
  registered: boolean;
  ruleId: string;
}

/**
 * Registers the sandbox's demo org unless `alreadyRegistered` (local.json remembers it, so a
 * demo org the user removed is not brought back), and returns its webhook URL either way.
 * Returns `undefined` when the demo was registered before and has since been removed.
 */
export async function ensureDemoOrg(
  deps: DemoDeps,
  demo: DemoIds,
  rule: RuleInput,
  alreadyRegistered: boolean,
): Promise<DemoOrg | undefined> {
  const orgId = demo.orgId;
  const urlSecretName = `${deps.secretPrefix}/local/demo/webhook-secret`;
  let urlSecret = await readSecret(deps.secretsClient, urlSecretName);
  let registered = false;
  if (!alreadyRegistered) {
    if (urlSecret === undefined) {
      urlSecret = new Secret(randomBytes(32).toString('base64url'));
      await deps.secretsClient.send(
        new CreateSecretCommand({
          Name: urlSecretName,
          SecretString: urlSecret.reveal(),
          Description: 'Webhook URL secret of the local demo org (local mode only)',
        }),
      );
    }
    const ids = await deps.tokens.createOrgSecrets(orgId, {
      authMode: 'password',
      orgId,
      clientId: demo.passwordClient.clientId,
      clientSecret: new Secret(demo.passwordClient.clientSecret),
      username: demo.admin.email,
      password: new Secret(demo.admin.password),
    });
    if ((await deps.registry.getOrg(orgId)) === undefined) {
      await deps.registry.createOrg({
        orgId,
        name: demo.orgName,
        authMode: 'password',
        credentialsSecretId: ids.credentialsSecretArn,
        tokenSecretId: ids.tokenSecretArn,
        webhookSecretHash: hashWebhookSecret(urlSecret),
      });
    }
    await deps.registry.putRule(orgId, rule);
    registered = true;
  } else if ((await deps.registry.getOrg(orgId)) === undefined) {
    return undefined;
  }
  if (urlSecret === undefined) return undefined;
  return {
    orgId,
    webhookUrl: new Secret(`${deps.origin}/hooks/${orgId}/${urlSecret.reveal()}`),
    registered,
    ruleId: rule.ruleId,
  };
}

/**
 * Launches a "Purchase order" process in the sandbox as its demo admin, through the API, and
 * returns its "Approve purchase order" task.
 */
async function launchPurchaseOrder(sandbox: StartedSandbox): Promise<string> {
  const demo = sandbox.demo;
  const grant = await fetch(`${sandbox.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: demo.passwordClient.clientId,
      client_secret: demo.passwordClient.clientSecret,
      username: demo.admin.email,
      password: demo.admin.password,
    }),
  });
  if (!grant.ok)
    throw new LocalModeError('LOCAL_DEMO_FAILED', `the token endpoint answered ${grant.status}`);
  const { access_token: token } = (await grant.json()) as { access_token: string };
  const launched = await fetch(`${sandbox.url}/organizations/${demo.orgId}/runs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'x-tallyfy-client': 'APIClient',
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      checklist_id: demo.templates.purchaseOrder.id,
      name: 'Purchase order (local mode demo)',
    }),
  });
  if (launched.status !== 201)
    throw new LocalModeError('LOCAL_DEMO_FAILED', `launching answered ${launched.status}`);
  const { data } = (await launched.json()) as { data: { id: string } };
  const task = sandbox.store
    .tasksOfRun(data.id)
    .find((t) => t.stepId === demo.templates.purchaseOrder.steps.approvePo);
  if (!task)
    throw new LocalModeError('LOCAL_DEMO_FAILED', 'the new purchase order has no approval task');
  return task.id;
}

async function readSecret(client: SecretsManagerClient, name: string): Promise<Secret | undefined> {
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: name }));
    return SecretString === undefined ? undefined : new Secret(SecretString);
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** The demo org, when local mode registered one against the sandbox. */
export interface LocalDemo {
  orgId: string;
  ruleId: string;
  /** The org's webhook URL (it holds the URL secret: show it to the user, never log it). */
  webhookUrl: Secret;
  /** A task the user can complete to see the whole path run. */
  taskId: string;
  /** `curl -X POST <sandbox>/_sandbox/orgs/<org>/tasks/<task>/complete` */
  completeTaskCommand: string;
  /** Whether this start registered it. */
  registeredNow: boolean;
}

/**
 * {@link ensureDemoOrg} with the sandbox's demo, then tells the sandbox the org's webhook URL
 * (it starts without one every time) and builds the one-line command of the banner.
 * @throws LocalModeError `LOCAL_DEMO_FAILED`
 */
export async function prepareDemo(
  deps: DemoDeps,
  sandbox: StartedSandbox,
  alreadyRegistered: boolean,
): Promise<LocalDemo | undefined> {
  let org: DemoOrg | undefined;
  try {
    org = await ensureDemoOrg(deps, sandbox.demo, demoRule(sandbox.demo), alreadyRegistered);
  } catch (error) {
    throw new LocalModeError(
      'LOCAL_DEMO_FAILED',
      `Could not register the demo org: ${scrubSecrets((error as Error).message)}`,
      { cause: error },
    );
  }
  if (!org) return undefined;
  sandbox.setWebhookUrl(org.orgId, org.webhookUrl.reveal());
  // the sandbox keeps its state: once the demo task was completed, the command completes
  // another open approval, or that of a new purchase order (launched as a user would)
  const po = sandbox.demo.templates.purchaseOrder;
  let taskId =
    sandbox.store
      .tasksOf(org.orgId)
      .find(
        (t) =>
          t.checklistId === po.id && t.stepId === po.steps.approvePo && t.status !== 'completed',
      )?.id ?? '';
  if (taskId === '') {
    try {
      taskId = await launchPurchaseOrder(sandbox);
    } catch (error) {
      throw new LocalModeError(
        'LOCAL_DEMO_FAILED',
        `Could not launch a purchase order in the sandbox for the demo: ${scrubSecrets((error as Error).message)}`,
        { cause: error },
      );
    }
  }
  return {
    orgId: org.orgId,
    ruleId: org.ruleId,
    webhookUrl: org.webhookUrl,
    taskId,
    completeTaskCommand: `curl -X POST ${sandbox.origin}/_sandbox/orgs/${org.orgId}/tasks/${taskId}/complete`,
    registeredNow: org.registered,
  };
}
