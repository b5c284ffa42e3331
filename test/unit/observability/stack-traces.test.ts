/**
 * mapBundleStackTraces outside a bundle: run from TypeScript (tests, local mode) it must leave
 * Node's stack formatting alone. The bundled behaviour is tested on a real bundle in
 * test/infra/stack-traces.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { mapBundleStackTraces } from '../../../shared/observability/index.ts';

describe('mapBundleStackTraces outside a bundle', () => {
  test('installs nothing for a TypeScript module with no map beside it', () => {
    const before = Error.prepareStackTrace;
    expect(mapBundleStackTraces(import.meta.url)).toBe(false);
    expect(Error.prepareStackTrace).toBe(before);
    expect(new Error('x').stack).toContain('stack-traces.test.ts');
  });

  test('installs nothing for a module that is not a file', () => {
    const before = Error.prepareStackTrace;
    expect(mapBundleStackTraces('data:text/javascript,export{}')).toBe(false);
    expect(Error.prepareStackTrace).toBe(before);
  });
});
