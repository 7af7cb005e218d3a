import { PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ObjectEncryption } from '../config/env';
import { encryptionParams } from './s3-encryption';

/**
 * Presigned URLs a client sends an upload's bytes to, straight to S3. Each one signs the exact
 * Content-Length, so S3 refuses a body of any other size. A single PUT also signs `If-None-Match: *`
 * (S3 refuses to overwrite an object that exists, so the bytes the workflow scanned cannot be swapped
 * under it by replaying the URL) and the server-side-encryption headers that the S3 client's
 * encryption middleware adds to every write (lib/s3-encryption.ts): the client must send every header
 * in `headers` exactly, or S3 refuses the signature.
 */

export interface PresignedRequest {
  url: string;
  /** Headers the request must carry, each signed. Content-Length is set by any HTTP client from the body. */
  headers: Record<string, string>;
}

/** The SSE request headers of a write, as S3 names them. */
export function encryptionHeaders(encryption: ObjectEncryption): Record<string, string> {
  const params = encryptionParams(encryption);
  const headers: Record<string, string> = {};
  if (params.ServerSideEncryption) headers['x-amz-server-side-encryption'] = params.ServerSideEncryption;
  if (params.SSEKMSKeyId) headers['x-amz-server-side-encryption-aws-kms-key-id'] = params.SSEKMSKeyId;
  return headers;
}

/**
 * Every header the signature covers must be in `headers` (host aside, which the URL carries): a header
 * signed but not handed to the client would make every upload fail, so it is checked here, at once.
 */
function checkSignedHeaders(url: string, headers: Record<string, string>): void {
  const signed = new URL(url).searchParams.get('X-Amz-SignedHeaders')?.split(';') ?? [];
  const known = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  const missing = signed.filter((name) => name !== 'host' && !known.has(name));
  if (missing.length > 0)
    throw new Error(`the presigned URL signs headers the client is not given: ${missing.join(', ')}`);
}

export async function presignSinglePut(
  s3: S3Client,
  target: { bucket: string; key: string; size: number; encryption: ObjectEncryption; expiresInSeconds: number },
): Promise<PresignedRequest> {
  const command = new PutObjectCommand({
    Bucket: target.bucket,
    Key: target.key,
    ContentLength: target.size,
    IfNoneMatch: '*',
  });
  const url = await getSignedUrl(s3, command, { expiresIn: target.expiresInSeconds });
  const headers = {
    'Content-Length': String(target.size),
    'If-None-Match': '*',
    ...encryptionHeaders(target.encryption),
  };
  checkSignedHeaders(url, headers);
  return { url, headers };
}

export interface PartPlan {
  partNumber: number;
  size: number;
}

/**
 * At most 1,000 parts (S3 allows 10,000): the complete request then stays a small JSON body. Above
 * partBytes × 1,000 the parts grow, in whole MiB.
 */
export const MAX_PARTS = 1_000;

export function planParts(size: number, partBytes: number): PartPlan[] {
  const mib = 1024 * 1024;
  const partSize = Math.max(partBytes, Math.ceil(size / MAX_PARTS / mib) * mib);
  const parts: PartPlan[] = [];
  for (let offset = 0, partNumber = 1; offset < size; offset += partSize, partNumber++) {
    parts.push({ partNumber, size: Math.min(partSize, size - offset) });
  }
  return parts;
}

export async function presignPart(
  s3: S3Client,
  target: { bucket: string; key: string; uploadId: string; part: PartPlan; expiresInSeconds: number },
): Promise<PresignedRequest> {
  const command = new UploadPartCommand({
    Bucket: target.bucket,
    Key: target.key,
    UploadId: target.uploadId,
    PartNumber: target.part.partNumber,
    ContentLength: target.part.size,
  });
  const url = await getSignedUrl(s3, command, { expiresIn: target.expiresInSeconds });
  const headers = { 'Content-Length': String(target.part.size) };
  checkSignedHeaders(url, headers);
  return { url, headers };
}
