import type { Reply, SandboxContext } from './context.ts';
import type { OrgRecord } from './store.ts';
import type { Principal } from './tokens.ts';

export interface RouteContext {
  sandbox: SandboxContext;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  principal: Principal;
  /** The org of `:org`, once membership is checked. */
  org: OrgRecord | undefined;
  /** The request's full URL (for pagination links). */
  selfUrl: URL;
  nowMs: number;
}

/**
 * `user`: needs a user token (client-credentials tokens get 401, as Tallyfy answers on
 * templates, processes and tasks); `any`: user or client token; `app`: client token.
 */
export type Scope = 'user' | 'any' | 'app';

export interface Route {
  method: string;
  /** `/organizations/:org/runs`; also the stats key with the method. */
  pattern: string;
  scope: Scope;
  handler: (rc: RouteContext) => Reply | Promise<Reply>;
}

interface CompiledRoute extends Route {
  segments: string[];
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

/** A segment router: exact segments and `:name` captures; no regex per request. */
export class Router {
  readonly #routes: CompiledRoute[] = [];

  add(route: Route): void {
    this.#routes.push({ ...route, segments: route.pattern.split('/').filter(Boolean) });
  }

  /** `undefined` when no pattern fits; `method: false` when the path fits another method. */
  match(method: string, path: string): Match | { methodNotAllowed: true } | undefined {
    const parts = path.split('/').filter(Boolean);
    let pathMatched = false;
    for (const route of this.#routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith(':')) {
          try {
            params[seg.slice(1)] = decodeURIComponent(part);
          } catch {
            // a malformed %-escape matches no route: the request gets the 404
            ok = false;
            break;
          }
        } else if (seg !== part) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (route.method === method) return { route, params };
    }
    return pathMatched ? { methodNotAllowed: true } : undefined;
  }
}
