/** `webhooks url|rotate-secret|subscribe <org>`. */
import type { Command } from 'commander';
import type { Org } from '../../shared/orgs/index.ts';
import { Secret } from '../../shared/secret.ts';
import {
  createTallyfyClient,
  staticToken,
  TallyfyApi,
  TallyfyError,
  TallyfyForbiddenError,
} from '../../shared/tallyfy/index.ts';
import { now, withTarget } from '../context.ts';
import { CliError, orgNotFound } from '../errors.ts';
import { parseDurationSeconds } from '../format.ts';
import { type CliIo, fields } from '../io.ts';
import { readAll } from '../stdin.ts';
import type { Target } from '../target/index.ts';
import { checkWebhookUrl, maskedWebhookUrl, newWebhookSecret, webhookUrl } from '../webhook-url.ts';
import { examples } from './help.ts';

const DEFAULT_GRACE = '24h';
const MAX_GRACE_SECONDS = 30 * 86_400;

function graceSeconds(text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined || seconds > MAX_GRACE_SECONDS) {
    throw new CliError(
      'CLI_USAGE',
      `--grace must be a duration such as 30m, 24h or 7d (at most 30d), not "${text}".`,
    );
  }
  return seconds;
}

async function requireOrg(target: Target, orgId: string): Promise<Org> {
  const org = await target.registry().getOrg(orgId);
  if (org === undefined) throw orgNotFound(orgId);
  return org;
}

/** Reads a webhook URL from stdin (it holds a secret, so never from argv). */
async function urlFromStdin(io: CliIo, flag: string): Promise<Secret> {
  if (io.stdin.isTTY === true) {
    throw new CliError(
      'CLI_USAGE',
      `${flag} reads the URL from stdin: pipe it in (e.g. \`… ${flag} < url.txt\`).`,
    );
  }
  const text = (await readAll(io.stdin, 8192)).trim();
  if (text === '') throw new CliError('CLI_INPUT_INVALID', `${flag}: stdin was empty.`);
  return new Secret(text);
}

export function registerWebhooks(program: Command, io: CliIo): void {
  const webhooks = program
    .command('webhooks')
    .description("an org's webhook URL: show, rotate, subscribe in Tallyfy")
    .addHelpCommand(false);

  const url = webhooks
    .command('url')
    .description(
      "show the org's webhook URL form and rotation state; the secret part is shown only when issued (orgs add, rotate-secret, subscribe): just its hash is stored",
    )
    .argument('<org>', 'org id')
    .option('--check', 'read a URL from stdin and say whether it is valid for this org now');
  examples(url, [
    'tallyfy-serverless webhooks url org5f4e3d2c1b0a',
    'pbpaste | tallyfy-serverless webhooks url org5f4e3d2c1b0a --check',
  ]);
  url.action(async (orgId: string, options: { check?: boolean }, command: Command) => {
    await withTarget(io, command, async (target, out) => {
      const org = await requireOrg(target, orgId);
      const base = target.webhookBaseUrl();
      const view = {
        orgId,
        urlTemplate: maskedWebhookUrl(base, orgId),
        status: org.status,
        accepting: org.status !== 'disabled',
        previousUrlValidUntil: org.previousWebhookSecretValidUntil ?? null,
      };
      if (options.check !== true) {
        out.result(view, () => [
          ...fields([
            ['URL', view.urlTemplate],
            ['Accepting', view.accepting ? 'yes' : 'no (org disabled: answers 401)'],
            [
              'Old URL',
              view.previousUrlValidUntil === null
                ? undefined
                : `still valid until ${view.previousUrlValidUntil}`,
            ],
          ]),
          '',
          'The <secret> part was printed once when it was issued; only its SHA-256 is stored.',
          `Lost it? \`tallyfy-serverless webhooks rotate-secret ${orgId}\` issues a new URL (the old one stays valid for a grace window).`,
        ]);
        return;
      }
      const candidate = await urlFromStdin(io, '--check');
      const auth = await target.registry().findWebhookAuth(orgId);
      const verdict = checkWebhookUrl(candidate, base, orgId, auth?.hashes ?? []);
      const valid = verdict === 'valid' && org.status !== 'disabled';
      if (!valid) {
        throw new CliError(
          'CLI_INPUT_INVALID',
          verdict === 'foreign'
            ? `That is not a webhook URL of org ${orgId} at ${base}.`
            : verdict === 'invalid'
              ? `That URL's secret is not valid for org ${orgId} (rotated out, or mistyped).`
              : `The URL is right, but org ${orgId} is disabled: it answers 401.`,
          { details: { ...view, valid: false } },
        );
      }
      out.result({ ...view, valid: true }, () => `The URL is valid for org ${orgId}.`);
    });
  });

  const rotate = webhooks
    .command('rotate-secret')
    .description(
      'issue a new webhook URL (printed once); the old one stays valid for the grace window',
    )
    .argument('<org>', 'org id')
    .option(
      '--grace <duration>',
      'how long the old URL keeps working (0 = stop now; max 30d)',
      DEFAULT_GRACE,
    );
  examples(rotate, [
    'tallyfy-serverless webhooks rotate-secret org5f4e3d2c1b0a',
    'tallyfy-serverless webhooks rotate-secret org5f4e3d2c1b0a --grace 0 --json',
  ]);
  rotate.action(async (orgId: string, options: { grace: string }, command: Command) => {
    const grace = graceSeconds(options.grace);
    await withTarget(io, command, async (target, out) => {
      await requireOrg(target, orgId);
      const { secret, hash } = newWebhookSecret();
      const org = await target.registry().rotateWebhookSecret(orgId, hash, { graceSeconds: grace });
      const newUrl = webhookUrl(target.webhookBaseUrl(), orgId, secret).reveal();
      out.result(
        {
          orgId,
          webhookUrl: newUrl,
          previousUrlValidUntil: org.previousWebhookSecretValidUntil ?? null,
        },
        () => [
          `New webhook URL of org ${orgId} (shown only now):`,
          `  ${newUrl}`,
          org.previousWebhookSecretValidUntil === undefined
            ? 'The old URL stopped working now.'
            : `The old URL keeps working until ${org.previousWebhookSecretValidUntil}: update Tallyfy before then (\`webhooks subscribe\` for the org watcher, template settings by hand).`,
        ],
      );
    });
  });

  const subscribe = webhooks
    .command('subscribe')
    .description(
      "register our URL with Tallyfy's org-level watcher API (org admins only) with the org's own token; issues a new URL unless --url-from-stdin gives the current one",
    )
    .argument('<org>', 'org id')
    .option(
      '--url-from-stdin',
      'subscribe the current URL, read from stdin, instead of issuing a new one',
    )
    .option(
      '--grace <duration>',
      'when a new URL is issued: how long the old one keeps working',
      DEFAULT_GRACE,
    )
    .option(
      '--keep-old-watchers',
      'do not remove watchers of this org that point at an older URL of ours',
    );
  examples(subscribe, [
    'tallyfy-serverless webhooks subscribe org5f4e3d2c1b0a',
    'tallyfy-serverless webhooks subscribe org5f4e3d2c1b0a --url-from-stdin < url.txt',
  ]);
  subscribe.action(
    async (
      orgId: string,
      options: { urlFromStdin?: boolean; grace: string; keepOldWatchers?: boolean },
      command: Command,
    ) => {
      const grace = graceSeconds(options.grace);
      await withTarget(io, command, async (target, out) => {
        const org = await requireOrg(target, orgId);
        if (org.status === 'disabled') {
          throw new CliError(
            'CLI_ORG_STATE_CONFLICT',
            `Org ${orgId} is disabled: enable it before subscribing.`,
          );
        }
        if (org.authMode === 'client_credentials') {
          throw new CliError(
            'CLI_ORG_STATE_CONFLICT',
            `Org ${orgId} uses client credentials: that token has no user, and only an org admin can add a watcher.`,
            {
              hint: 'Register the org with an org admin (password, personal_access_token or app_user_token).',
            },
          );
        }
        const base = target.webhookBaseUrl();
        let url: Secret;
        let issued: { hash: string } | undefined;
        if (options.urlFromStdin === true) {
          url = await urlFromStdin(io, '--url-from-stdin');
          const auth = await target.registry().findWebhookAuth(orgId);
          if (checkWebhookUrl(url, base, orgId, auth?.hashes ?? []) !== 'valid') {
            throw new CliError(
              'CLI_INPUT_INVALID',
              `The URL on stdin is not a valid webhook URL of org ${orgId} now.`,
            );
          }
        } else {
          const fresh = newWebhookSecret();
          url = webhookUrl(base, orgId, fresh.secret);
          issued = { hash: fresh.hash };
        }
        const token = await target.tokenStore().readToken(orgId);
        if (token === undefined) {
          throw new CliError('CLI_ORG_STATE_CONFLICT', `Org ${orgId} has no token yet.`, {
            hint: `Store one with \`tallyfy-serverless tokens refresh ${orgId}\`.`,
          });
        }
        const api = new TallyfyApi(
          createTallyfyClient({
            auth: staticToken(token.accessToken),
            baseUrl: target.tallyfyBaseUrl,
          }),
          { perPage: 100 },
        );
        const me = await api.me();
        const existing = await api
          .listWebhookWatchers(orgId)
          .all()
          .catch((error: unknown) => {
            throw notAdmin(error, orgId, me.email) ?? error;
          });
        const ours = `${base}/${encodeURIComponent(orgId)}/`;
        const same = existing.find((watcher) => watcher.webhook?.reveal() === url.reveal());
        let watcherId = same?.id;
        if (same === undefined) {
          try {
            watcherId = (await api.addWebhookWatcher(orgId, me.id, url)).id;
          } catch (error) {
            throw notAdmin(error, orgId, me.email) ?? error;
          }
        }
        let previousUrlValidUntil: string | null = null;
        if (issued !== undefined) {
          try {
            const rotated = await target
              .registry()
              .rotateWebhookSecret(orgId, issued.hash, { graceSeconds: grace });
            previousUrlValidUntil = rotated.previousWebhookSecretValidUntil ?? null;
          } catch (error) {
            // Tallyfy would post to a URL we do not accept: take the watcher back
            if (watcherId !== undefined) {
              await api.removeWatcher(orgId, watcherId).catch((removeError: unknown) => {
                const why = removeError instanceof TallyfyError ? removeError.code : 'failed';
                io.stderr.write(
                  `warning: watcher ${watcherId} could not be removed (${why}); Tallyfy posts to a URL that answers 401 until you remove it in Tallyfy.\n`,
                );
              });
            }
            throw error;
          }
        }
        const removed: string[] = [];
        if (options.keepOldWatchers !== true) {
          for (const watcher of existing) {
            const text = watcher.webhook?.reveal();
            if (watcher.id !== watcherId && text?.startsWith(ours) === true) {
              await api.removeWatcher(orgId, watcher.id);
              removed.push(watcher.id);
            }
          }
        }
        const shown = issued === undefined ? undefined : url.reveal();
        out.result(
          {
            orgId,
            watcherId: watcherId ?? null,
            alreadySubscribed: same !== undefined,
            subscribedAs: me.email ?? me.id,
            removedWatchers: removed,
            ...(shown === undefined ? {} : { webhookUrl: shown, previousUrlValidUntil }),
            at: new Date(now(io)).toISOString(),
          },
          () => [
            same !== undefined
              ? `Org ${orgId}: that URL was already subscribed (watcher ${same.id}).`
              : `Org ${orgId}: Tallyfy now sends org events (task.completed, process.launched, …) to our receiver (watcher ${watcherId}).`,
            ...(removed.length > 0
              ? [`Removed ${removed.length} watcher(s) pointing at an older URL of ours.`]
              : []),
            ...(shown === undefined
              ? []
              : [
                  '',
                  'A new webhook URL was issued for it (shown only now; use it for template webhooks too):',
                  `  ${shown}`,
                  previousUrlValidUntil === null
                    ? 'The old URL stopped working.'
                    : `The old URL keeps working until ${previousUrlValidUntil}.`,
                ]),
          ],
        );
      });
    },
  );
}

function notAdmin(error: unknown, orgId: string, email: string | undefined): CliError | undefined {
  if (!(error instanceof TallyfyForbiddenError)) return undefined;
  return new CliError(
    'CLI_FORBIDDEN',
    `Tallyfy refused (403): the org's user${email === undefined ? '' : ` ${email}`} is not an admin of org ${orgId}, and only org admins can add webhook watchers.`,
    {
      hint: "Ask an org admin to register the org (or to add the URL as a template webhook in Tallyfy's settings). Nothing was changed.",
      cause: error,
    },
  );
}
