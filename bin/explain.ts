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
    return new CliError('CLI_INPUT_INVALID', error.message, { cause: error });
  }
  if (error instanceof OrgsError) return explainOrgs(error);
  if (error instanceof TokenStoreError) return explainTokenStore(error);
  if (error instanceof OAuthError) return explainGrant(error);
  if (error instanceof TallyfyError) return explainTallyfy(error);
  if (isAwsSdkError(error)) return awsFailure(error, 'calling AWS');
  const name = error instanceof Error ? error.name : typeof error;
  return new CliError(
    'CLI_UNEXPECTED',
    `Unexpected ${name}${error instanceof Error ? `: ${error.message}` : ''}`,
    {
      cause: error,
      hint: 'Run again with LOG_LEVEL=DEBUG; if it persists, report it with the output.',
    },
  );
}

function explainOrgs(error: OrgsError): CliError {
  if (error instanceof OrgNotFoundError) {
    return new CliError('CLI_ORG_NOT_FOUND', `${capitalise(error.message)}.`, {
      hint: 'List the registered orgs with `tallyfy-serverless orgs list`.',
      cause: error,
    });
  }
  if (error instanceof OrgAlreadyExistsError) {
    return new CliError('CLI_ORG_ALREADY_EXISTS', `${capitalise(error.message)}.`, {
      cause: error,
    });
  }
  if (error instanceof InvalidInputError) {
    return new CliError('CLI_INPUT_INVALID', `${capitalise(error.message)}.`, { cause: error });
  }
  if (error instanceof VersionConflictError) {
    return new CliError(
      'CLI_ORG_STATE_CONFLICT',
      `${capitalise(error.message)}: run the command again.`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof StoreError) return awsFailure(error.cause ?? error, 'using the orgs table');
  return new CliError('CLI_UNEXPECTED', error.message, { cause: error });
}

function explainTokenStore(error: TokenStoreError): CliError {
  switch (error.code) {
    case 'TOKENS_SECRET_ALREADY_EXISTS':
      return new CliError('CLI_SECRETS_ALREADY_EXIST', error.message, {
        hint: 'Secrets of an earlier registration of this org are still there: remove the org (`orgs remove <org> --purge`) first.',
        cause: error,
      });
    case 'TOKENS_SECRET_DELETED':
      return new CliError('CLI_SECRETS_ALREADY_EXIST', error.message, {
        hint: 'The org was removed with a recovery window: restore the secret (aws secretsmanager restore-secret) or wait until the window ends.',
        cause: error,
      });
    case 'TOKENS_SECRET_NOT_FOUND':
      return new CliError('CLI_ORG_STATE_CONFLICT', error.message, { cause: error });
    case 'TOKENS_SECRETS_MANAGER_THROTTLED':
    case 'TOKENS_SECRETS_MANAGER_FAILED':
      return error.cause !== undefined
        ? awsFailure(error.cause, 'using Secrets Manager')
        : new CliError('CLI_REMOTE_FAILED', error.message, { cause: error });
    default:
      return new CliError('CLI_UNEXPECTED', error.message, { cause: error });
  }
}

/** A grant that failed while validating credentials. */
export function explainGrant(error: OAuthError): CliError {
  if (error.needsReauth || error.code === 'TALLYFY_FORBIDDEN') {
    return new CliError(
      'CLI_CREDENTIALS_REJECTED',
      `Tallyfy rejected the credentials: ${error.message}`,
      {
        hint: 'Check the client id and secret, the username and password (or token), and that they belong to this org. Nothing was saved.',
        cause: error,
      },
    );
  }
  if (error.transient) {
    return new CliError('CLI_REMOTE_FAILED', `Tallyfy could not be asked: ${error.message}`, {
      hint: 'Try again in a moment. Nothing was saved.',
      cause: error,
    });
  }
  return new CliError('CLI_REMOTE_FAILED', `The credentials check failed: ${error.message}`, {
    cause: error,
  });
}

function explainTallyfy(error: TallyfyError): CliError {
  if (error instanceof TallyfyForbiddenError) {
    return new CliError('CLI_FORBIDDEN', `Tallyfy refused: ${error.message}`, { cause: error });
  }
  if (error instanceof TallyfyAuthError) {
    return new CliError(
      'CLI_CREDENTIALS_REJECTED',
      `Tallyfy rejected the org's token: ${error.message}`,
      {
        hint: 'Refresh it with `tallyfy-serverless tokens refresh <org>` and check `tokens status`.',
        cause: error,
      },
    );
  }
  if (error instanceof TallyfyNotFoundError) {
    return new CliError('CLI_REMOTE_FAILED', `Tallyfy answered 404: ${error.message}`, {
      cause: error,
    });
  }
  return new CliError('CLI_REMOTE_FAILED', `Tallyfy call failed: ${error.message}`, {
    cause: error,
  });
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
