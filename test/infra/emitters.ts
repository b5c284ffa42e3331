/**
 * What the product code emits, read from the code itself: the files a function's entry reaches
 * through relative imports, and the metric names those files record. An alarm's metric is
 * checked against this, never against a second list of names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of a function's entry (`functions/<service>/index.ts`). */
export function functionEntry(service: string): string {
  return resolve(REPO_ROOT, 'functions', service, 'index.ts');
}

/** Source text without comments (string literals kept), so JSDoc examples never count. */
export function stripComments(source: string): string {
  return source.replace(
    /('(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (_match, literal: string | undefined) => literal ?? ' ',
  );
}

/** Every `.ts` file `entry` reaches through relative static imports and re-exports. */
export function reachableFiles(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [resolve(entry)];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = stripComments(readFileSync(file, 'utf8'));
    for (const match of source.matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), match[1] as string);
      if (target.endsWith('.ts') && existsSync(target)) pending.push(target);
    }
  }
  return seen;
}

/** The argument text of each call of `name(` in `source` (balanced parentheses). */
function callArguments(source: string, name: string): string[] {
  const found: string[] = [];
  const pattern = new RegExp(`\\b${name}\\(`, 'g');
  for (const match of source.matchAll(pattern)) {
    let depth = 1;
    let i = (match.index ?? 0) + match[0].length;
    const start = i;
    while (i < source.length && depth > 0) {
      const char = source[i];
      if (char === '(') depth++;
      else if (char === ')') depth--;
      i++;
    }
    found.push(source.slice(start, i - 1));
  }
  return found;
}

/**
 * Metric names passed as string literals to a call that writes a metric (`record(…)`,
 * `addMetric(…)`, the reporter's `emit(…)`) in `files`, with the files that write them.
 * Parameter lists (a method signature such as `record(name: 'A' | 'B')`) are not calls.
 */
export function recordedMetricNames(files: Iterable<string>): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const file of files) {
    const source = stripComments(readFileSync(file, 'utf8'));
    for (const call of ['record', 'addMetric', 'emit']) {
      for (const args of callArguments(source, call)) {
        if (/^\s*[A-Za-z_$][\w$]*\s*\??\s*:/.test(args)) continue; // a signature, not a call
        for (const literal of args.matchAll(/['"]([A-Z][A-Za-z0-9]+)['"]/g)) {
          const name = literal[1] as string;
          names.set(name, [...(names.get(name) ?? []), file]);
        }
      }
    }
  }
  return names;
}

/** Whether `files` add the dimension `name` to some metric (`addDimension('orgId', …)`). */
export function addsDimension(files: Iterable<string>, name: string): boolean {
  for (const file of files) {
    const source = stripComments(readFileSync(file, 'utf8'));
    if (callArguments(source, 'addDimension').some((args) => args.includes(`'${name}'`))) {
      return true;
    }
  }
  return false;
}
