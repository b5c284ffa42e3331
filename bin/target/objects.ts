/**
 * Read-only access to what AWS keeps in buckets and local mode keeps in directories: the
 * reports (`reports/<orgId>/<day>/<file>`) and the raw webhook archive
 * (`webhooks/<orgId>/<yyyy>/<mm>/<dd>/<time>-<eventId>.json`). The console lists and reads
 * them; nothing here writes.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** A bucket, or a directory standing in for one. */
export interface ObjectReader {
  /** Where it is, for messages (`s3://bucket`, a directory). */
  readonly location: string;
  /**
   * Keys directly under `prefix` (which ends with `/`): `folders` (common prefixes, ending
   * with `/`) and `keys` (objects), each in key order, at most `limit` of each.
   */
  list(
    prefix: string,
    options?: { limit?: number },
  ): Promise<{ folders: string[]; keys: string[] }>;
  /** An object's bytes, or `undefined` when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
}

const DEFAULT_LIMIT = 5_000;

/**
 * Keys under a directory: key `<prefix><rest>` is the file `<root>/<rest>` when the key
 * starts with `prefix` (local mode keeps `reports/…` in `<data>/reports/…`).
 */
export function directoryObjects(root: string, keyPrefix: string, shown?: string): ObjectReader {
  const base = resolve(root);
  const pathOf = (key: string): string | undefined => {
    if (!key.startsWith(keyPrefix)) return undefined;
    const path = resolve(base, key.slice(keyPrefix.length));
    const inside = relative(base, path);
    return inside.startsWith('..') || isAbsolute(inside) ? undefined : path;
  };
  return {
    location: shown ?? base,
    async list(prefix, options = {}) {
      const limit = options.limit ?? DEFAULT_LIMIT;
      const dir = prefix === keyPrefix ? base : pathOf(prefix);
      if (dir === undefined) return { folders: [], keys: [] };
      let names: string[];
      try {
        names = (await readdir(dir)).sort();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { folders: [], keys: [] };
        throw error;
      }
      const folders: string[] = [];
      const keys: string[] = [];
      for (const name of names) {
        // local writers rename temporary files into place; never show them
        if (name.endsWith('.tmp') || name.endsWith('.meta.json')) continue;
        const info = await stat(join(dir, name)).catch(() => undefined);
        if (info?.isDirectory() === true && folders.length < limit)
          folders.push(`${prefix}${name}/`);
        else if (info?.isFile() === true && keys.length < limit) keys.push(`${prefix}${name}`);
      }
      return { folders, keys };
    },
    async get(key) {
      const path = pathOf(key);
      if (path === undefined) return undefined;
      try {
        return new Uint8Array(await readFile(path));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EISDIR') return undefined;
        throw error;
      }
    },
  };
}

/** A bucket through the S3 API: `ListObjectsV2` (delimiter `/`) and `GetObject`. */
export function bucketObjects(client: S3Client, bucket: string): ObjectReader {
  return {
    location: `s3://${bucket}`,
    async list(prefix, options = {}) {
      const limit = options.limit ?? DEFAULT_LIMIT;
      const folders: string[] = [];
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const out = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            Delimiter: '/',
            ContinuationToken: token,
          }),
        );
        for (const common of out.CommonPrefixes ?? []) {
          if (common.Prefix !== undefined && folders.length < limit) folders.push(common.Prefix);
        }
        for (const object of out.Contents ?? []) {
          if (object.Key !== undefined && keys.length < limit) keys.push(object.Key);
        }
        token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
      } while (token !== undefined && (folders.length < limit || keys.length < limit));
      return { folders, keys };
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body === undefined ? undefined : await out.Body.transformToByteArray();
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
  };
}
