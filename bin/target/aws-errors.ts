/** AWS SDK failures → CLI errors a user can act on (AWS messages name resources, never values). */
import { CliError } from '../errors.ts';

export function awsFailure(error: unknown, doing: string): CliError {
  if (error instanceof CliError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError' || /credential/i.test(name)) {
    return new CliError('CLI_TARGET_UNREACHABLE', `No AWS credentials while ${doing}: ${message}`, {
      hint: 'Use --profile <name>, or configure the default credential chain (AWS_PROFILE, SSO, environment).',
      cause: error,
    });
  }
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return new CliError(
      'CLI_TARGET_UNREACHABLE',
      `Nothing answers while ${doing} (connection refused).`,
      {
        hint: 'For local mode, start it with `npm start` (it writes .data/local.json).',
        cause: error,
      },
    );
  }
  if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(`${name} ${message}`)) {
    return new CliError('CLI_FORBIDDEN', `AWS refused ${doing}: ${message}`, {
      hint: 'Your AWS identity needs the permissions listed in docs/cli.md.',
      cause: error,
    });
  }
  return new CliError('CLI_REMOTE_FAILED', `AWS failed while ${doing}: ${name}: ${message}`, {
    cause: error,
  });
}
