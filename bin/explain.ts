/**
 * Maps any error a command lets through to a {@link CliError}: the typed families of
 * `shared/` by class and code (never by message text), AWS SDK failures, and the rest as
 * `unexpected`. Messages of our families never carry secrets (their authors made sure).
 */
import { ConfigError } from '../shared/config.ts';
import {
  InvalidInputError,
  OrgAlreadyExistsError,
  OrgNotFoundError,
  OrgsError,
  StoreError,
  VersionConflictError,
} from '../shared/orgs/index.ts';
import {
  OAuthError,
  TallyfyAuthError,
  TallyfyError,
  TallyfyForbiddenError,
  TallyfyNotFoundError,
} from '../shared/tallyfy/index.ts';
import { TokenStoreError } from '../shared/tokens/index.ts';
import { CliError } from './errors.ts';
import { awsFailure } from './target/aws-errors.ts';

export function explain(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof ConfigError) {
    return new CliError('invalid_input', error.message, { cause: error });
  }
  if (error instanceof OrgsError) return explainOrgs(error);
  if (error instanceof TokenStoreError) return explainTokenStore(error);
  if (error instanceof OAuthError) return explainGrant(error);
  if (error instanceof TallyfyError) return explainTallyfy(error);
  if (isAwsSdkError(error)) return awsFailure(error, 'calling AWS');
  const name = error instanceof Error ? error.name : typeof error;
  return new CliError(
    'unexpected',
    `Unexpected ${name}${error instanceof Error ? `: ${error.message}` : ''}`,
    {
      cause: error,
      hint: 'Run again with LOG_LEVEL=DEBUG; if it persists, report it with the output.',
    },
  );
}

function explainOrgs(error: OrgsError): CliError {
  if (error instanceof OrgNotFoundError) {
    return new CliError('org_not_found', `${capitalise(error.message)}.`, {
      hint: 'List the registered orgs with `tallyfy-serverless orgs list`.',
      cause: error,
    });
  }
  if (error instanceof OrgAlreadyExistsError) {
    return new CliError('org_exists', `${capitalise(error.message)}.`, { cause: error });
  }
  if (error instanceof InvalidInputError) {
    return new CliError('invalid_input', `${capitalise(error.message)}.`, { cause: error });
  }
  if (error instanceof VersionConflictError) {
    return new CliError('org_state', `${capitalise(error.message)}: run the command again.`, {
      cause: error,
    });
  }
  if (error instanceof StoreError) return awsFailure(error.cause ?? error, 'using the orgs table');
  return new CliError('unexpected', error.message, { cause: error });
}

function explainTokenStore(error: TokenStoreError): CliError {
  switch (error.code) {
    case 'secret_exists':
      return new CliError('secrets_exist', error.message, {
        hint: 'Secrets of an earlier registration of this org are still there: remove the org (`orgs remove <org> --purge`) first.',
        cause: error,
      });
    case 'secret_deleted':
      return new CliError('secrets_exist', error.message, {
        hint: 'The org was removed with a recovery window: restore the secret (aws secretsmanager restore-secret) or wait until the window ends.',
        cause: error,
      });
    case 'secret_not_found':
      return new CliError('org_state', error.message, { cause: error });
    case 'throttled':
    case 'secrets_manager_error':
      return error.cause !== undefined
        ? awsFailure(error.cause, 'using Secrets Manager')
        : new CliError('remote_failed', error.message, { cause: error });
    default:
      return new CliError('unexpected', error.message, { cause: error });
  }
}

/** A grant that failed while validating credentials. */
export function explainGrant(error: OAuthError): CliError {
  if (error.needsReauth || error.code === 'forbidden') {
    return new CliError(
      'credentials_rejected',
      `Tallyfy rejected the credentials: ${error.message}`,
      {
        hint: 'Check the client id and secret, the username and password (or token), and that they belong to this org. Nothing was saved.',
        cause: error,
      },
    );
  }
  if (error.transient) {
    return new CliError('remote_failed', `Tallyfy could not be asked: ${error.message}`, {
      hint: 'Try again in a moment. Nothing was saved.',
      cause: error,
    });
  }
  return new CliError('remote_failed', `The credentials check failed: ${error.message}`, {
    cause: error,
  });
}

function explainTallyfy(error: TallyfyError): CliError {
  if (error instanceof TallyfyForbiddenError) {
    return new CliError('forbidden', `Tallyfy refused: ${error.message}`, { cause: error });
  }
  if (error instanceof TallyfyAuthError) {
    return new CliError(
      'credentials_rejected',
      `Tallyfy rejected the org's token: ${error.message}`,
      {
        hint: 'Refresh it with `tallyfy-serverless tokens refresh <org>` and check `tokens status`.',
        cause: error,
      },
    );
  }
  if (error instanceof TallyfyNotFoundError) {
    return new CliError('remote_failed', `Tallyfy answered 404: ${error.message}`, {
      cause: error,
    });
  }
  return new CliError('remote_failed', `Tallyfy call failed: ${error.message}`, { cause: error });
}

function isAwsSdkError(error: unknown): boolean {
  return (
    error instanceof Error &&
    ('$metadata' in error || error.name === 'CredentialsProviderError' || 'code' in error)
  );
}

function capitalise(text: string): string {
  return text.length === 0 ? text : `${text[0]?.toUpperCase()}${text.slice(1)}`;
}
