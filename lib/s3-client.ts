import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config/env';
import { encryptEveryWrite } from './s3-encryption';

/**
 * One S3 client for MinIO (dev, tests) or any S3-compatible store. Path-style addressing comes from
 * config because MinIO and most self-hosted stores do not serve virtual-host buckets. Every object it
 * writes is encrypted at rest as configured (lib/s3-encryption.ts).
 */
export function createS3Client(s3: Config['s3']): S3Client {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // Streams of unknown length cannot carry a precomputed body checksum; only send one when the
    // operation demands it (DeleteObjects), which every S3-compatible server accepts.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  encryptEveryWrite(client, s3.encryption);
  return client;
}
