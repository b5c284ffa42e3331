import type { Secret } from '../secret.ts';
import type { TallyfyAuth, TokenScope } from './client.ts';

/**
 * The auth port for a fixed token (a personal access token, a token a test minted): every call
 * uses it, and a 401 stands (there is nothing fresher to try). `scope: 'app'` marks a
 * client-credentials token, so a 401 on a user-scoped endpoint reads as a scope error.
 *
 * @example
 * const client = createTallyfyClient({ auth: staticToken(new Secret(process.env.TALLYFY_PAT ?? '')) });
 */
export function staticToken(token: Secret, options: { scope?: TokenScope } = {}): TallyfyAuth {
  const ready = Promise.resolve(token);
  const { scope } = options;
  return scope === undefined
    ? { getToken: () => ready }
    : { getToken: () => ready, scopeOf: (given) => (given.equals(token) ? scope : undefined) };
}
