import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectEncryption } from '../config/env';

/**
 * Encryption at rest for every object Intake writes, in one place: the S3 client itself adds the
 * server-side-encryption parameters to each request that creates an object, so no call site (the API's
 * streaming upload, the store/scan/resize activities, the benchmark, a future one) can forget them.
 * SSE-S3 and SSE-KMS need nothing on reads: GetObject and presigned GET URLs work unchanged.
 */

/** The S3 operations that create an object; CopyObject's parameters apply to the copy, not the source. */
const WRITES: ReadonlySet<string> = new Set(['PutObjectCommand', 'CopyObjectCommand', 'CreateMultipartUploadCommand']);

export interface EncryptionParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
}

/** The request parameters for the configured encryption (none for `S3_SSE=none`). */
export function encryptionParams(encryption: ObjectEncryption): EncryptionParams {
  switch (encryption.mode) {
    case 'AES256':
      return { ServerSideEncryption: 'AES256' };
    case 'aws:kms':
      return { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: encryption.keyId };
    case 'none':
      return {};
  }
}

/**
 * The store cannot encrypt or decrypt as configured: no KMS behind MinIO (501 NotImplemented "KMS is
 * not configured"), an unknown or disabled key (MinIO's `kms:KeyNotFound` 404, AWS's `KMS.*` errors),
 * or an object whose key the KMS no longer has (`kms:InvalidCiphertextException` on a read). Retrying
 * will not help, but neither is it the client's fault: it is the deployment's, so it is marked a server
 * fault (the API answers 503, lib/dependency-outage.ts, instead of 500) and carries no HTTP status, so
 * a KMS 404 can never pass for "no such object" (isNotFound in lib/s3-objects.ts).
 */
export class S3EncryptionRefused extends Error {
  override name = 'S3EncryptionRefused';
  readonly $fault = 'server';
  constructor(
    readonly mode: ObjectEncryption['mode'],
    command: string,
    cause: unknown,
  ) {
    super(`S3 could not apply server-side encryption ${mode} (S3_SSE) to ${command}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

export function isEncryptionRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; Code?: string; message?: string };
  const code = e.Code ?? e.name ?? '';
  const message = e.message ?? '';
  if (/^kms[:.]/i.test(code)) return true;
  // AWS: a role without kms:GenerateDataKey or kms:Decrypt on the key is denied by name.
  if (code === 'AccessDenied' && /\bkms:[A-Za-z]+/.test(message)) return true;
  return code === 'NotImplemented' && /\bKMS\b/.test(message);
}

/**
 * Makes every object-creating request the client sends carry the configured encryption, and turns the
 * KMS's refusals, on any request, into S3EncryptionRefused.
 */
export function encryptEveryWrite(client: S3Client, encryption: ObjectEncryption): void {
  const params = encryptionParams(encryption);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'an S3 request';
      try {
        if (!WRITES.has(command)) return await next(args);
        // The configured encryption wins over anything a caller passed: at rest means every object.
        return await next({ ...args, input: { ...args.input, ...params } as typeof args.input });
      } catch (error) {
        throw isEncryptionRefusal(error) ? new S3EncryptionRefused(encryption.mode, command, error) : error;
      }
    },
    { step: 'initialize', name: 'intakeServerSideEncryption' },
  );
}
