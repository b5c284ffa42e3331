import type { Secret } from '../secret.ts';
import type { TallyfyAuth } from './client.ts';

/**
 * The auth port for a fixed token (a personal access token, a token a test minted): every call
 * uses it, and a 401 stands (there is nothing fresher to try).
 *
 * @example
 * const client = createTallyfyClient({ auth: staticToken(new Secret(process.env.TALLYFY_PAT ?? '')) });
 */
export function staticToken(token: Secret): TallyfyAuth {
  const ready = Promise.resolve(token);
  return { getToken: () => ready };
}
