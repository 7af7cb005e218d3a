import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config/env';
import { createS3Client } from '../lib/s3-client';
import { uploadDirect } from './measure-streaming';

/**
 * The direct lib-storage upload, run in a fresh process (`node --import tsx bench/direct-upload-child.ts
 * <key> <bytes>` with the stack's S3_* variables), so its RSS growth is lib-storage's own — the floor
 * for any process that streams an upload through it, the API included. Prints one JSON line.
 */
async function main(): Promise<void> {
  const [key, bytes] = process.argv.slice(2);
  if (!key || !bytes) throw new Error('usage: direct-upload-child.ts <key> <bytes>');
  const config = loadConfig();
  const s3 = createS3Client(config.s3);
  const run = await uploadDirect({ s3, bucket: config.s3.bucket, key, bytes: Number(bytes) });
  s3.destroy();
  console.log(JSON.stringify(run));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
