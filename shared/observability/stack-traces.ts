/**
 * Stack traces in TypeScript terms for a bundled Lambda, without paying for the source map at
 * cold start.
 *
 * Node's `--enable-source-maps` reads a bundle's map (ours were 4-6.5 MiB with the sources in
 * them) while the bundle loads, at every cold start, whether or not an error is ever printed:
 * 18-42 ms of CPU on Node 20 and on Node 24 alike (docs/benchmarks.md). Instead each Lambda entry calls
 * {@link mapBundleStackTraces} with its own `import.meta.url`: it only checks that the map file
 * exists beside the bundle, and installs an `Error.prepareStackTrace` hook. The map is read the
 * first time a stack with a frame in the bundle is formatted (an error logged, or printed by the
 * Lambda runtime), once per container; frames are then written as
 * `at createTallyfyClient (shared/tallyfy/client.ts:171:11)`, the way Node's own source-map
 * support writes them, and every other frame (Node internals) is left as V8 wrote it.
 *
 * Run from TypeScript (tests, local mode) the entry's URL is a `.ts` file with no map beside it,
 * so nothing is installed and the loader's own source maps (tsx) keep working. With
 * `NODE_OPTIONS=--enable-source-maps` Node maps every frame itself and nothing is installed.
 * docs/operations.md ("Reading a stack trace") says how to read the result.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

let installedFor: string | undefined;

/**
 * Maps frames of the bundle at `bundleUrl` through `<bundle>.map` whenever a stack trace is
 * formatted; the map is loaded on first use. Call it once, at the top of a Lambda entry.
 *
 * @param bundleUrl - the bundle's `import.meta.url` (`file:///var/task/index.mjs` in Lambda)
 * @returns whether the hook is installed: false when there is no map beside the file, when
 *   Node already applies source maps, or when `Error.prepareStackTrace` is not Node's own
 *
 * @example
 * // functions/<part>/index.ts
 * mapBundleStackTraces(import.meta.url);
 */
export function mapBundleStackTraces(bundleUrl: string): boolean {
  if (installedFor === bundleUrl) return true;
  if (installedFor !== undefined || !bundleUrl.startsWith('file:')) return false;
  const bundlePath = fileURLToPath(bundleUrl);
  const mapPath = `${bundlePath}.map`;
  if (!existsSync(mapPath) || process.sourceMapsEnabled) return false;
  const format = Error.prepareStackTrace;
  // Node's default formatter is a function named ErrorPrepareStackTrace; anything else is a
  // hook someone installed on purpose: leave it alone
  if (format === undefined || format.name !== 'ErrorPrepareStackTrace') return false;

  const map = lazySourceMap(mapPath);
  const inBundle = (site: NodeJS.CallSite) => {
    const file = site.getFileName();
    return file === bundleUrl || file === bundlePath;
  };
  Error.prepareStackTrace = (error, sites) => {
    try {
      const sourceMap = sites.some(inBundle) ? map() : undefined;
      if (sourceMap === undefined) return format(error, sites);
      return format(
        error,
        sites.map((site, i) => (inBundle(site) ? mappedSite(sourceMap, sites, i) : site)),
      );
    } catch {
      // a formatter that throws would cost the error its stack: write the bundle's frames
      return format(error, sites);
    }
  };
  installedFor = bundleUrl;
  return true;
}

/** The parsed map, read on the first call; `undefined` for good if it cannot be read. */
function lazySourceMap(mapPath: string): () => SourceMap | undefined {
  let state: 'unread' | 'loading' | 'failed' | SourceMap = 'unread';
  return () => {
    if (state === 'unread') {
      // an error formatted while the map loads (none expected) is written unmapped
      state = 'loading';
      try {
        state = new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8')));
      } catch {
        // deleted or corrupt: frames stay as bundled (docs/operations.md says how to map them)
        state = 'failed';
      }
    }
    return typeof state === 'string' ? undefined : state;
  };
}

/**
 * A call site whose `toString()` (what Node's formatter prints) names the TypeScript source;
 * every other method answers as the bundle's call site does.
 */
function mappedSite(map: SourceMap, sites: readonly NodeJS.CallSite[], i: number): NodeJS.CallSite {
  const site = sites[i] as NodeJS.CallSite;
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (line === null || column === null) return site;
  const entry = map.findEntry(line - 1, column - 1);
  if (!('originalSource' in entry)) return site;
  const location = `${sourcePath(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  const name = originalName(map, sites, i) ?? bundleName(site);
  // V8 writes a frame without a function name (module top level) as its bare location
  const text = `${callPrefix(site)}${name === undefined ? location : `${name} (${location})`}`;
  return new Proxy(site, {
    get(target, key) {
      if (key === 'toString') return () => text;
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The name the source gives the enclosing function (esbuild records the original of every
 * renamed identifier), else the name at the caller's call site, as Node's source-map support
 * finds it.
 */
function originalName(
  map: SourceMap,
  sites: readonly NodeJS.CallSite[],
  i: number,
): string | undefined {
  const site = sites[i] as NodeJS.CallSite;
  const line = site.getEnclosingLineNumber();
  const column = site.getEnclosingColumnNumber();
  if (line !== null && column !== null) {
    const name = entryName(map.findEntry(line - 1, column - 1));
    if (name !== undefined) return name;
  }
  const caller = sites[i + 1];
  if (caller === undefined || caller.getFileName() !== site.getFileName()) return undefined;
  const callerLine = caller.getLineNumber();
  const callerColumn = caller.getColumnNumber();
  if (callerLine === null || callerColumn === null) return undefined;
  return entryName(map.findEntry(callerLine - 1, callerColumn - 1));
}

/** The original identifier a mapping names, if any (Node ≥ 20 returns it; @types lag). */
function entryName(entry: object): string | undefined {
  const name = (entry as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** `Type.method` or the function name as V8 has it in the bundle (minified names included). */
function bundleName(site: NodeJS.CallSite): string | undefined {
  const name = site.getFunctionName() ?? site.getMethodName();
  if (name === null) return undefined;
  const type = site.isToplevel() ? null : site.getTypeName();
  return type !== null && type !== 'global' && !name.startsWith(`${type}.`)
    ? `${type}.${name}`
    : name;
}

function callPrefix(site: NodeJS.CallSite): string {
  return `${site.isAsync() ? 'async ' : ''}${site.isConstructor() ? 'new ' : ''}`;
}

/**
 * Sources are relative to the map (`../../shared/config.ts` from `cdk.out/bundling-temp-…`):
 * without the leading `../` they read as paths in the project (`shared/config.ts`).
 */
function sourcePath(source: string): string {
  const path = source.startsWith('file://') ? fileURLToPath(source) : source;
  return path.replace(/^(\.\.?\/)+/, '');
}
