import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from 'pino';

/** Small, typed wrappers over the S3 calls Intake makes; every failure other than "not found" throws. */

export function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'NoSuchKey' || e.name === 'NotFound' || e.Code === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
  );
}

/** The object's body as a Node stream; `range` is an HTTP byte range such as "bytes=0-4099". */
export async function getObjectStream(s3: S3Client, bucket: string, key: string, range?: string): Promise<Readable> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  if (!response.Body) throw new Error(`S3 returned no body for ${key}`);
  return response.Body as Readable;
}

/** Up to the first `bytes` bytes of an object (fewer when the object is shorter). */
export async function readObjectPrefix(s3: S3Client, bucket: string, key: string, bytes: number): Promise<Buffer> {
  return readStream(await getObjectStream(s3, bucket, key, `bytes=0-${bytes - 1}`), bytes);
}

/** Reads a stream into memory, refusing to hold more than `limit` bytes. */
export async function readStream(stream: Readable, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buffer.length;
    chunks.push(buffer);
    if (total >= limit) {
      stream.destroy();
      break;
    }
  }
  const all = Buffer.concat(chunks);
  return all.length > limit ? all.subarray(0, limit) : all;
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Server-side copy: the bytes never pass through the worker. `metadata` replaces the source's. */
export async function copyObject(
  s3: S3Client,
  bucket: string,
  from: string,
  to: string,
  metadata?: Record<string, string>,
): Promise<void> {
  await s3.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: to,
      // The copy source is "bucket/key" with the key URL-encoded segment by segment.
      CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
      ...(metadata ? { Metadata: metadata, MetadataDirective: 'REPLACE' as const } : {}),
    }),
  );
}

/** Server-side copy from another bucket (or key) the same credentials can read; the source stays. */
export async function copyObjectFrom(
  s3: S3Client,
  source: { bucket: string; key: string },
  bucket: string,
  key: string,
): Promise<void> {
  await s3.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: key,
      CopySource: `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`,
      // The copy is Intake's own object: none of the source's metadata or tags ride along.
      MetadataDirective: 'REPLACE',
      ContentType: 'application/octet-stream',
    }),
  );
}

/** An object's size and declared type, or null when it does not exist. */
export async function describeObject(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ size: number; contentType: string | undefined } | null> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: head.ContentLength ?? 0, contentType: head.ContentType };
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Writes a whole object from memory in one request (small bodies; uploadStream streams large ones). */
export async function putObject(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/octet-stream' }),
  );
}

/** The object's user metadata, or null when it does not exist. */
export async function objectMetadata(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Record<string, string> | null> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.Metadata ?? {};
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** S3's most keys per DeleteObjects request. */
export const S3_DELETE_BATCH_LIMIT = 1000;

/**
 * One DeleteObjects request (at most 1000 keys); answers the keys S3 did not delete, each with its
 * error. The request succeeds as a whole even when some keys fail, so its per-key errors must be read.
 * A key that does not exist counts as deleted.
 */
export async function deleteObjectsOnce(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
): Promise<Map<string, Error>> {
  const failed = new Map<string, Error>();
  if (keys.length === 0) return failed;
  const result = await s3.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      // Quiet: S3 answers only the failures, not a line per deleted key.
      Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
    }),
  );
  for (const error of result.Errors ?? []) {
    if (error.Key === undefined || error.Code === 'NoSuchKey') continue;
    failed.set(error.Key, new Error(`${error.Key}: ${error.Code ?? 'error'} ${error.Message ?? ''}`.trim()));
  }
  return failed;
}

/**
 * Deletes keys in batches of 1000 (the S3 limit); keys that do not exist count as deleted. Keys S3
 * reports an error for are sent again (three attempts in all) before this throws, naming them.
 */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += S3_DELETE_BATCH_LIMIT) {
    let pending = unique.slice(i, i + S3_DELETE_BATCH_LIMIT);
    for (let attempt = 1; ; attempt++) {
      const failed = await deleteObjectsOnce(s3, bucket, pending);
      if (failed.size === 0) break;
      if (attempt >= 3) {
        const first = failed.values().next().value;
        throw new Error(`S3 could not delete ${failed.size} object(s), e.g. ${first?.message}`);
      }
      pending = [...failed.keys()];
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** (attempt - 1)));
    }
  }
}

/** Streams a body of unknown length to S3 (multipart when large); overwrites any object at `key`. */
export async function uploadStream(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Readable | Buffer,
  contentType: string,
): Promise<void> {
  await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType } }).done();
}

/** Deletes whatever an upload that did not complete may have written. Never throws. */
export async function discardObject(target: { s3: S3Client; bucket: string; key: string; log: Logger }): Promise<void> {
  try {
    await target.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }), {
      abortSignal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    target.log.warn({ err: error, key: target.key }, 'could not delete an abandoned upload object');
  }
}
