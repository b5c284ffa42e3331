/**
 * The local Secrets Manager's data file (`secrets.json`, mode 0600): the whole state as one
 * JSON document, rewritten atomically after every change (writes are rare: a token refresh
 * every few minutes per org). A damaged file is salvaged through `local/persistence`: every
 * complete secret is kept. Messages name the file, never a value in it.
 */
import * as z from 'zod';
import {
  countOccurrences,
  type DocumentSpec,
  loadDocument,
  type SalvageReport,
  scanObjects,
  writeFileAtomic,
} from '../persistence/index.ts';
import type { EngineState, StoredSecret } from './engine.ts';

const StoredVersionSchema = z.looseObject({
  versionId: z.string().min(1),
  secretString: z.string().optional(),
  secretBinary: z.string().optional(),
  createdDate: z.number(),
  stages: z.array(z.string()),
});

const StoredSecretSchema = z.looseObject({
  arn: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  kmsKeyId: z.string().optional(),
  tags: z.array(z.strictObject({ Key: z.string(), Value: z.string() })),
  createdDate: z.number(),
  lastChangedDate: z.number(),
  lastAccessedDate: z.number().optional(),
  deletedDate: z.number().optional(),
  versions: z.array(StoredVersionSchema),
});

const isSecret = (value: unknown): boolean => StoredSecretSchema.safeParse(value).success;

function secretsSpec(file: string): DocumentSpec<EngineState> {
  return {
    file,
    parse: (value) => {
      const secrets = (value as { secrets?: unknown } | null)?.secrets;
      if (!Array.isArray(secrets) || !secrets.every(isSecret)) return undefined;
      return { secrets: secrets as StoredSecret[] };
    },
    salvage: ({ partial, text }) => {
      const secrets = new Map<string, StoredSecret>();
      const keep = (value: unknown) => {
        const parsed = StoredSecretSchema.safeParse(value);
        if (parsed.success && !secrets.has(parsed.data.name)) {
          secrets.set(parsed.data.name, parsed.data as StoredSecret);
        }
      };
      const listed = (partial.value as { secrets?: unknown } | undefined)?.secrets;
      for (const secret of Array.isArray(listed) ? listed : []) {
        if (partial.isComplete(secret)) keep(secret);
      }
      if (!partial.complete) {
        for (const found of scanObjects(text, partial.stoppedAt, isSecret)) keep(found.value);
      }
      // every secret written has an "arn" key (its versions do not)
      const lost = Math.max(0, countOccurrences(text, '"arn":') - secrets.size);
      return { document: { secrets: [...secrets.values()] }, kept: secrets.size, lost };
    },
    serialize: (state) => `${JSON.stringify(state, null, 2)}\n`,
  };
}

/**
 * Reads the persisted state; a missing file is an empty state. A damaged one is kept aside
 * (`secrets.json.damaged-<time>`, mode 0600 like the original) and replaced by its complete
 * secrets; `salvage` says how many were kept and lost.
 */
export async function loadState(
  file: string,
  nowMs: number = Date.now(),
): Promise<{ state: EngineState; salvage: SalvageReport | undefined }> {
  const loaded = await loadDocument(secretsSpec(file), nowMs);
  return { state: loaded.document ?? { secrets: [] }, salvage: loaded.salvage };
}

/** Writes the state atomically (mode 0600): a crash leaves the old or the new file. */
export async function saveState(file: string, state: EngineState): Promise<void> {
  await writeFileAtomic(file, secretsSpec(file).serialize(state), { mode: 0o600 });
}
