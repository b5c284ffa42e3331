import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ReportSink } from '../ports.ts';

/**
 * Writes report objects to S3 (`PutObject` overwrites: a re-run for the same day replaces the
 * files). The client is created once by the caller (module scope in the Lambda).
 *
 * @example
 * const sink = s3ReportSink(new S3Client({}), config.reportsBucket);
 */
export function s3ReportSink(client: S3Client, bucket: string): ReportSink {
  return {
    async put(key, body, contentType) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
      );
    },
  };
}
