import { join, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../../files.ts';
import type { ReportSink } from '../ports.ts';

/**
 * Writes report objects as files under `root`. Keys start with `reports/`, so local mode passes
 * the working directory and gets `./reports/<orgId>/…`. Each file is written to a temporary
 * name and renamed, so a reader never sees half a file, and a re-run overwrites.
 *
 * @example
 * const sink = fileReportSink('.');
 * await sink.put('reports/o1/2026-11-22/report.json', '{}', 'application/json');
 */
export function fileReportSink(root: string): ReportSink {
  const base = resolve(root);
  return {
    async put(key, body) {
      const path = resolve(join(base, key));
      // keys come from validated org ids, but a key must never leave the root
      if (!path.startsWith(base + sep)) throw new RangeError(`report key ${key} leaves ${base}`);
      await writeFileAtomic(path, body);
    },
  };
}
