import { count, json, type Reply, type SandboxContext } from './context.ts';

function oauthError(status: number, error: string, description: string, hint?: string): Reply {
  const body: Record<string, string> = { error, error_description: description };
  if (hint) body.hint = hint;
  body.message = description;
  return json(status, body);
}

const missing = (name: string) =>
  oauthError(
    400,
    'invalid_request',
    'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.',
    `Check the \`${name}\` parameter`,
  );

const REQUIRED: Record<string, string[]> = {
  password: ['client_id', 'client_secret', 'username', 'password'],
  refresh_token: ['client_id', 'client_secret', 'refresh_token'],
  client_credentials: ['client_id', 'client_secret', 'scope'],
};

/**
 * `POST /oauth/token` as Laravel Passport answers it: form-encoded bodies only, every
 * parameter of the grant required, rotating refresh tokens.
 */
export function handleTokenRequest(
  ctx: SandboxContext,
  contentType: string | undefined,
  rawBody: string,
): Reply {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    return oauthError(
      400,
      'invalid_request',
      'The request body must be application/x-www-form-urlencoded.',
    );
  }
  const form = new URLSearchParams(rawBody);
  const grantType = form.get('grant_type');
  if (!grantType) return missing('grant_type');
  const required = REQUIRED[grantType];
  if (!required) {
    return oauthError(
      400,
      'unsupported_grant_type',
      'The authorization grant type is not supported by the authorization server.',
    );
  }
  for (const name of required) if (!form.get(name)) return missing(name);

  const client = ctx.store.clients.get(form.get('client_id') ?? '');
  if (!client || client.clientSecret !== form.get('client_secret')) {
    return oauthError(401, 'invalid_client', 'Client authentication failed');
  }
  const nowMs = ctx.clock();
  const { accessSeconds, refreshSeconds } = ctx.lifetimes;

  if (grantType === 'password') {
    const user = ctx.store.userByEmail(form.get('username') ?? '');
    if (!user || user.password !== form.get('password') || user.roles.size === 0) {
      return oauthError(
        400,
        'invalid_grant',
        'The user credentials were incorrect.',
        'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
      );
    }
    const pair = ctx.tokens.issuePair(
      user.id,
      client.clientId,
      nowMs + accessSeconds * 1000,
      nowMs + refreshSeconds * 1000,
    );
    count(ctx.stats.grants, 'password');
    return json(200, {
      token_type: 'Bearer',
      expires_in: accessSeconds,
      access_token: pair.accessToken,
      refresh_token: pair.refreshToken,
    });
  }

  if (grantType === 'refresh_token') {
    const outcome = ctx.tokens.spendRefresh(
      form.get('refresh_token') ?? '',
      client.clientId,
      nowMs,
    );
    if (!outcome.ok) {
      if (outcome.reason === 'revoked') {
        ctx.stats.refreshTokenReuseRejected++;
        if (ctx.refreshTokenReuseRevokesFamily && outcome.family) {
          ctx.tokens.revokeFamily(outcome.family);
        }
      }
      if (ctx.refreshTokenReuse === 'invalid_request_401') {
        return oauthError(
          401,
          'invalid_request',
          'The refresh token is invalid.',
          outcome.reason === 'revoked'
            ? 'Token has been revoked'
            : 'Cannot decrypt the refresh token',
        );
      }
      return oauthError(
        400,
        'invalid_grant',
        'The refresh token is invalid.',
        outcome.reason === 'revoked'
          ? 'Token has been revoked'
          : 'Cannot decrypt the refresh token',
      );
    }
    const pair = ctx.tokens.issuePair(
      outcome.userId,
      client.clientId,
      nowMs + accessSeconds * 1000,
      nowMs + refreshSeconds * 1000,
      outcome.family,
    );
    count(ctx.stats.grants, 'refresh_token');
    return json(200, {
      token_type: 'Bearer',
      expires_in: accessSeconds,
      access_token: pair.accessToken,
      refresh_token: pair.refreshToken,
    });
  }

  // client_credentials
  if (form.get('scope') !== '*') {
    return oauthError(
      400,
      'invalid_scope',
      'The requested scope is invalid, unknown, or malformed',
      'Use the scope `*`',
    );
  }
  if (!client.orgId) {
    return oauthError(
      400,
      'unauthorized_client',
      'The authenticated client is not authorized to use this authorization grant type.',
    );
  }
  const accessToken = ctx.tokens.issueAccess(
    { kind: 'client', clientId: client.clientId, orgId: client.orgId },
    nowMs + accessSeconds * 1000,
  );
  count(ctx.stats.grants, 'client_credentials');
  return json(200, { token_type: 'Bearer', expires_in: accessSeconds, access_token: accessToken });
}
