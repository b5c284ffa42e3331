/** `orgs add|list|show|disable|enable|remove`. */
import { type Command, Option } from 'commander';
import type { Org } from '../../shared/orgs/index.ts';
import { AUTH_MODES, type AuthMode, TokenUrlSchema } from '../../shared/orgs/index.ts';
import { now, withTarget } from '../context.ts';
import { checkLines } from '../doctor.ts';
import { CliError, orgNotFound } from '../errors.ts';
import { type CliIo, fields, isInteractive } from '../io.ts';
import { addOrg, PLAIN_FIELDS_OF } from '../orgs/add-org.ts';
import { CLIENT_CREDENTIALS_NOTE } from '../orgs/app-scope.ts';
import { orgDetails, orgsTable, orgView } from '../orgs/view.ts';
import { type CollectedSecrets, collectSecrets, type PlainKey } from '../secret-input.ts';
import { describeOutcome, outcomeError, requestRefresh } from '../tokens/refresh.ts';
import { examples } from './help.ts';

const PROMPTS: Record<PlainKey, string> = {
  clientId: 'OAuth client id (numeric)',
  username: 'Tallyfy username (e-mail)',
  appClientId: 'App client id',
  email: 'E-mail of the user the app acts for',
};

const FLAGS: Record<PlainKey, string> = {
  clientId: '--client-id',
  username: '--username',
  appClientId: '--app-client-id',
  email: '--email',
};

/**
 * Printed by `orgs add` for a personal access token org: the refresher stores the PAT itself as
 * the org's access token, so every role that reads token secrets can read it (docs/security.md).
 */
export const PAT_WARNING =
  "a personal_access_token org keeps the PAT itself in its token secret, readable by the event worker, reconciler and reporter roles for the PAT's whole life (about 6 months; it dies when its user logs out of Tallyfy). For production, prefer --auth-mode password or app_user_token: their token secret holds short-lived access tokens only.";

interface AddOptions {
  name?: string;
  authMode?: string;
  clientId?: string;
  username?: string;
  appClientId?: string;
  email?: string;
  issuedAt?: string;
  timezone?: string;
  orgOauthUrl?: string;
  secretsFromStdin?: boolean;
  secretsFile?: string;
  refresh: boolean;
}

export function registerOrgs(program: Command, io: CliIo): void {
  const orgs = program
    .command('orgs')
    .description('register Tallyfy orgs and manage them')
    .addHelpCommand(false);

  const add = orgs
    .command('add')
    .description(
      'register an org: checks the credentials with a real grant against Tallyfy before saving anything, then prints its webhook URL (once)',
    )
    .argument('[org]', 'Tallyfy org id (asked when interactive)')
    .option('--name <name>', 'display name (default: the org name in Tallyfy)')
    .addOption(
      new Option('--auth-mode <mode>', 'how tokens are obtained (default: password)')
        .choices([...AUTH_MODES])
        .default(undefined, 'password'),
    )
    .option('--client-id <id>', 'OAuth client id (password, client_credentials)')
    .option('--username <email>', 'Tallyfy username (password)')
    .option('--app-client-id <id>', 'app client id (app_user_token)')
    .option('--email <email>', 'user the app acts for (app_user_token)')
    .option('--issued-at <iso>', 'when the personal access token was issued (default: now)')
    .option('--timezone <tz>', 'IANA zone for reports, e.g. Europe/Berlin')
    .option(
      '--org-oauth-url <url>',
      "this org's own OAuth token endpoint, stored with the org and used by its grants (default: the deployment's TALLYFY_TOKEN_URL)",
    )
    .option('--secrets-from-stdin', 'read the secrets as a JSON object from stdin')
    .option('--secrets-file <path>', 'read the secrets from a JSON file (chmod 600)')
    .option('--no-refresh', 'do not ask the token refresher to store the first token now');
  examples(add, [
    '# interactive: prompts for everything, secrets at hidden prompts',
    'tallyfy-serverless orgs add',
    '# scripted (secrets never on the command line):',
    `echo '{"clientSecret":"…","password":"…"}' | tallyfy-serverless orgs add org5f4e3d2c1b0a --client-id 3127 --username ops@example.com --secrets-from-stdin`,
    'tallyfy-serverless orgs add org5f4e3d2c1b0a --auth-mode personal_access_token --secrets-file ./pat.json --json',
  ]);
  add.action(async (orgArg: string | undefined, options: AddOptions, command: Command) => {
    await withTarget(io, command, async (target, out) => {
      const interactive = isInteractive(io);
      let orgId = orgArg;
      if (orgId === undefined) {
        if (!interactive) throw new CliError('CLI_USAGE', 'Name the org: `orgs add <org>`.');
        orgId = await io.prompts.text('Tallyfy org id');
      }
      let authMode = options.authMode as AuthMode | undefined;
      if (authMode === undefined) {
        authMode = interactive ? await askAuthMode(io) : 'password';
      }
      const plainFromFlags: Partial<Record<PlainKey, string>> = {};
      if (authMode === 'client_credentials') {
        out.warn(CLIENT_CREDENTIALS_NOTE);
        if (
          interactive &&
          (await io.prompts.confirm(
            'Register it with app_user_token instead (the app mints a token for a named user, so automations, reconciliation and reports work)?',
            { default: true },
          ))
        ) {
          authMode = 'app_user_token';
          // the same app client: its id carries over
          if (options.clientId !== undefined && options.appClientId === undefined) {
            plainFromFlags.appClientId = options.clientId;
          }
        }
      }
      if (authMode === 'personal_access_token') out.warn(PAT_WARNING);
      const sources = {
        secretsFromStdin: options.secretsFromStdin,
        secretsFile: options.secretsFile,
      };
      const piped: CollectedSecrets | undefined =
        sources.secretsFromStdin === true || sources.secretsFile !== undefined
          ? await collectSecrets(io, authMode, sources)
          : undefined;
      const plain: Partial<Record<PlainKey, string>> = { ...piped?.plain, ...plainFromFlags };
      for (const key of Object.keys(FLAGS) as PlainKey[]) {
        const value = options[key];
        if (value !== undefined && PLAIN_FIELDS_OF[authMode].includes(key)) plain[key] = value;
      }
      for (const key of PLAIN_FIELDS_OF[authMode]) {
        if (plain[key] !== undefined) continue;
        if (!interactive) {
          throw new CliError('CLI_USAGE', `Auth mode ${authMode} needs ${FLAGS[key]}.`);
        }
        plain[key] = await io.prompts.text(PROMPTS[key]);
      }
      const collected = piped ?? (await collectSecrets(io, authMode, {}));
      out.note(`Checking the credentials with Tallyfy (${target.tallyfyBaseUrl})…`);
      const result = await addOrg(
        {
          registry: target.registry(),
          tokenStore: target.tokenStore(),
          tallyfyBaseUrl: target.tallyfyBaseUrl,
          tallyfyTokenUrl: target.tallyfy.tokenUrl,
          targetKind: target.kind,
          webhookBaseUrl: target.webhookBaseUrl(),
          clock: io.clock ?? Date.now,
        },
        {
          orgId,
          name: options.name,
          authMode,
          ...plain,
          issuedAt: options.issuedAt,
          timezone: options.timezone,
          tokenUrl: options.orgOauthUrl,
          secrets: collected.secrets,
        },
      );
      let refresh: { outcome: string; detail: string } | { error: string } | undefined;
      let org = result.org;
      if (options.refresh) {
        try {
          const outcome = await requestRefresh(target, orgId, false);
          refresh = { outcome: outcome.outcome, detail: describeOutcome(outcome) };
          const problem = outcomeError(outcome, orgId);
          if (problem !== undefined) out.warn(problem.message);
          org = (await target.registry().getOrg(orgId)) ?? org;
        } catch (error) {
          // the org is registered; the scheduled refresher stores its token on its next run
          refresh = { error: error instanceof Error ? error.message : String(error) };
          out.warn(
            `the first token was not stored yet (${refresh.error}); the scheduled refresher will do it.`,
          );
        }
      }
      const url = result.webhookUrl.reveal();
      out.result(
        {
          org: orgView(org, now(io)),
          webhookUrl: url,
          validation: result.validation,
          ...(refresh === undefined ? {} : { refresh }),
        },
        () => [
          `Registered org ${org.orgId} (${org.name}): credentials checked with a ${result.validation.grant} grant${result.validation.userEmail === undefined ? '' : ` as ${result.validation.userEmail}`}.`,
          ...(result.validation.tokenScope === 'app'
            ? [
                'Its token is an app token: rules may http_post and publish only; the reconciler and the reports skip it (see the warning above).',
              ]
            : []),
          ...(refresh !== undefined && 'detail' in refresh ? [`Token: ${refresh.detail}.`] : []),
          ...checkLines(result.validation.checks),
          '',
          'Webhook URL (shown only now: just its hash is stored; rotate it to get a new one):',
          `  ${url}`,
          '',
          result.validation.tokenScope === 'app'
            ? "Next: paste the URL into a template's webhook setting (subscribing org watchers needs a user token)."
            : `Next: \`tallyfy-serverless webhooks subscribe ${org.orgId}\` (org admins), or paste the URL into a template's webhook setting.`,
        ],
      );
    });
  });

  const list = orgs
    .command('list')
    .description('list the registered orgs with their token state')
    .addOption(
      new Option('--status <status>', 'only orgs in this status').choices([
        'active',
        'needs_reauth',
        'disabled',
      ]),
    );
  examples(list, [
    'tallyfy-serverless orgs list',
    'tallyfy-serverless orgs list --status needs_reauth --json',
  ]);
  list.action(
    async (options: { status?: 'active' | 'needs_reauth' | 'disabled' }, command: Command) => {
      await withTarget(io, command, async (target, out) => {
        const found: Org[] = [];
        for await (const org of target
          .registry()
          .listOrgs(options.status === undefined ? {} : { status: options.status })) {
          found.push(org);
        }
        const at = now(io);
        out.result({ orgs: found.map((org) => orgView(org, at)) }, () => orgsTable(found, at));
      });
    },
  );

  const show = orgs
    .command('show')
    .description('show one org in detail')
    .argument('<org>', 'org id');
  examples(show, ['tallyfy-serverless orgs show org5f4e3d2c1b0a']);
  show.action(async (orgId: string, _options: unknown, command: Command) => {
    await withTarget(io, command, async (target, out) => {
      const registry = target.registry();
      const org = await registry.getOrg(orgId);
      if (org === undefined) throw orgNotFound(orgId);
      const rules = await registry.listRules(orgId, { consistent: true });
      const at = now(io);
      out.result({ org: orgView(org, at), rules: rules.length }, () =>
        orgDetails(org, at, rules.length),
      );
    });
  });

  for (const [name, status, what] of [
    ['disable', 'disabled', 'stop refreshing its token and refuse its webhooks (401)'],
    ['enable', 'active', 'make it active again (due for a refresh at once)'],
  ] as const) {
    const cmd = orgs
      .command(name)
      .description(`${name} an org: ${what}`)
      .argument('<org>', 'org id');
    examples(cmd, [`tallyfy-serverless orgs ${name} org5f4e3d2c1b0a`]);
    cmd.action(async (orgId: string, _options: unknown, command: Command) => {
      await withTarget(io, command, async (target, out) => {
        const registry = target.registry();
        const before = await registry.getOrg(orgId);
        if (before === undefined) throw orgNotFound(orgId);
        const org = before.status === status ? before : await registry.setStatus(orgId, status);
        out.result({ org: orgView(org, now(io)), changed: before.status !== status }, () =>
          before.status === status
            ? `Org ${orgId} is already ${status}.`
            : `Org ${orgId}: ${before.status} → ${org.status}.`,
        );
      });
    });
  }

  const setOauthUrl = orgs
    .command('set-oauth-url')
    .description(
      "set the org's own OAuth token endpoint (its grants go there instead of TALLYFY_TOKEN_URL), or `default` to use the deployment's again; check it first with `doctor <org> --oauth-url <url>`",
    )
    .argument('<org>', 'org id')
    .argument('<url>', 'the token endpoint, or `default`');
  examples(setOauthUrl, [
    'tallyfy-serverless orgs set-oauth-url org5f4e3d2c1b0a https://account.tallyfy.com/oauth/token',
    'tallyfy-serverless orgs set-oauth-url org5f4e3d2c1b0a default',
  ]);
  setOauthUrl.action(async (orgId: string, url: string, _options: unknown, command: Command) => {
    const tokenUrl = url === 'default' ? null : url;
    if (tokenUrl !== null && !TokenUrlSchema.safeParse(tokenUrl).success) {
      throw new CliError(
        'CLI_INPUT_INVALID',
        'The token URL must be an http(s) URL without credentials (or `default`).',
      );
    }
    await withTarget(io, command, async (target, out) => {
      const registry = target.registry();
      const before = await registry.getOrg(orgId);
      if (before === undefined) throw orgNotFound(orgId);
      const org = await registry.updateOrg(
        orgId,
        { tokenUrl },
        { expectedVersion: before.version },
      );
      out.result({ org: orgView(org, now(io)) }, () =>
        tokenUrl === null
          ? `Org ${orgId}: grants go to the deployment's token URL (${target.tallyfy.tokenUrl ?? 'TALLYFY_TOKEN_URL, not set'}).`
          : `Org ${orgId}: grants go to ${tokenUrl} from its next refresh.`,
      );
    });
  });

  const remove = orgs
    .command('remove')
    .description('remove an org: its item, rules, watermarks and both secrets')
    .argument('<org>', 'org id')
    .option('-y, --yes', 'do not ask for confirmation')
    .option(
      '--purge',
      'delete the secrets without a recovery window (default in local mode; in AWS: 7 days)',
    );
  examples(remove, [
    'tallyfy-serverless orgs remove org5f4e3d2c1b0a',
    'tallyfy-serverless orgs remove org5f4e3d2c1b0a --yes --purge --json',
  ]);
  remove.action(
    async (orgId: string, options: { yes?: boolean; purge?: boolean }, command: Command) => {
      await withTarget(io, command, async (target, out) => {
        const registry = target.registry();
        const org = await registry.getOrg(orgId);
        if (org === undefined) throw orgNotFound(orgId);
        if (options.yes !== true) {
          if (!isInteractive(io)) {
            throw new CliError(
              'CLI_USAGE',
              `Removing ${orgId} needs confirmation: pass --yes when not at a terminal.`,
            );
          }
          const sure = await io.prompts.confirm(
            `Remove org ${orgId} (${org.name}) with its rules and credentials? Its webhook URL stops working.`,
          );
          if (!sure) throw new CliError('CLI_CANCELLED', 'Nothing was removed.');
        }
        const purge = options.purge === true || target.kind === 'local';
        // the registry first: once the org item is gone, nothing reads the secrets any more
        const { itemsDeleted } = await registry.removeOrg(orgId);
        await target
          .tokenStore()
          .deleteOrgSecrets(
            orgId,
            purge ? { forceDeleteWithoutRecovery: true } : { recoveryWindowInDays: 7 },
          );
        out.result(
          {
            orgId,
            removed: true,
            itemsDeleted,
            secrets: purge ? 'deleted' : 'scheduled_for_deletion',
          },
          () => [
            `Removed org ${orgId} (${itemsDeleted} item${itemsDeleted === 1 ? '' : 's'}); secrets ${purge ? 'deleted' : 'scheduled for deletion in 7 days'}.`,
            'If Tallyfy still posts to its webhook URL (template hooks, watchers), remove it there too.',
          ],
        );
      });
    },
  );
}

async function askAuthMode(io: CliIo): Promise<AuthMode> {
  io.stderr.write(
    `${fields(AUTH_MODES.map((mode, index) => [String(index + 1), mode])).join('\n')}\n`,
  );
  for (;;) {
    const answer = await io.prompts.text('Auth mode (number or name)', { default: 'password' });
    const byIndex = AUTH_MODES[Number(answer) - 1];
    const mode = byIndex ?? AUTH_MODES.find((candidate) => candidate === answer);
    if (mode !== undefined) return mode;
    io.stderr.write(`Choose one of ${AUTH_MODES.join(', ')}.\n`);
  }
}
