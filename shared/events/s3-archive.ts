import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ArchiveError } from './errors.ts';
import type { ArchiveMeta, RawArchive } from './ports.ts';

/** Options of {@link createS3Archive}. */
export interface S3ArchiveOptions {
  /** A client created once at module scope. */
  client: S3Client;
  /** `ARCHIVE_BUCKET`. */
  bucket: string;
}

/**
 * {@link RawArchive} over S3: one object per body, `Content-Type: application/json`, the
 * {@link ArchiveMeta} as user metadata (`x-amz-meta-org-id`, `…-event-id`, …). Encryption and
 * lifecycle are the bucket's (infra).
 *
 * @example
 * const s3 = new S3Client({}); // module scope
 * const archive = createS3Archive({ client: s3, bucket: config.archive.bucket });
 */
export function createS3Archive(options: S3ArchiveOptions): RawArchive {
  const { client, bucket } = options;
  return {
    async put(key, body, meta) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: 'application/json',
            Metadata: s3Metadata(meta),
          }),
        );
      } catch (error) {
        throw new ArchiveError(`S3 did not store s3://${bucket}/${key}`, { cause: error });
      }
    },

    async get(key) {
      try {
        const result = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (result.Body === undefined) return new Uint8Array();
        return await result.Body.transformToByteArray();
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw new ArchiveError(`S3 did not return s3://${bucket}/${key}`, { cause: error });
      }
    },
  };
}

/** User metadata must be printable ASCII; a non-ASCII value is dropped to a `?` form. */
function s3Metadata(meta: ArchiveMeta): Record<string, string> {
  const entries: [string, string | undefined][] = [
    ['org-id', meta.orgId],
    ['event-id', meta.eventId],
    ['event-type', meta.type],
    ['received-at', meta.receivedAt],
    ['request-content-type', meta.contentType],
  ];
  const metadata: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (value !== undefined) metadata[name] = value.replace(/[^\x20-\x7e]/g, '?').slice(0, 256);
  }
  return metadata;
}
