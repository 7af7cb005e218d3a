import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { FILE_ID_PATTERN } from '../lib/ids';
import { copyObject, deleteKeys, isNotFound } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import { findTenantFile, isUniqueViolation } from '../prisma/file-records';
import { releaseReservation, reserveUpload } from '../prisma/quotas';
import {
  admitUpload,
  pinSchema,
  restartIfLost,
  type AcceptUploadDeps,
  type AcceptUploadResult,
  type AcceptedUpload,
} from './accept-upload';

/*
 * Resumable (tus) uploads: @tus/server assembles the bytes under tus/<tenant>/<fileId>, and once the last
 * byte is in, finishTusUpload copies them to the incoming area and admits the upload exactly as POST
 * /v1/files does (admitUpload: row, then workflow). The file id is part of the tus upload's id, so every
 * finish of one upload (a retried final PATCH, a HEAD after a lost answer) names the same file.
 */

/** The tus upload id (and S3 key) of a tenant's upload; the URL carries only the file id. */
export const tusUploadId = (tenantId: string, fileId: string) => storageKeys.tus(tenantId, fileId);

/** The tenant and file of a tus upload id, or null for an id Intake never made. */
export function parseTusUploadId(id: string): { tenantId: string; fileId: string } | null {
  const match = /^tus\/([^/]+)\/([^/]+)$/.exec(id);
  if (!match || !FILE_ID_PATTERN.test(match[2]!)) return null;
  return { tenantId: match[1]!, fileId: match[2]! };
}

/** A finished tus upload, its metadata parsed and checked by the API. */
export interface FinishedTusUpload {
  tenantId: string;
  fileId: string;
  size: number;
  filename: string;
  declaredContentType: string | null;
  tags: string[];
  callbackUrl: string | null;
  retentionMs: number;
  /** The tenant's JSON Schema the upload names (Upload-Metadata `schema`). */
  schemaName?: string | null;
}

/**
 * Turns a tus upload whose bytes have all arrived into a file with its workflow. Idempotent: a second
 * call answers with the first call's file (starting its workflow if a crash lost the start).
 */
export async function finishTusUpload(deps: AcceptUploadDeps, upload: FinishedTusUpload): Promise<AcceptUploadResult> {
  const { config, s3 } = deps;
  const bucket = config.s3.bucket;
  const log = deps.log.child({ fileId: upload.fileId, tusUpload: true });
  const scoped = { ...deps, log };

  const replay = async (): Promise<AcceptUploadResult | null> => {
    const row = await deps.withDb((db) => findTenantFile(db, upload.tenantId, upload.fileId));
    if (!row) return null;
    await restartIfLost(scoped, row, 'a retried tus upload', { size: upload.size, sha256: null });
    return { row, replayed: true };
  };
  const earlier = await replay();
  if (earlier) return earlier;

  const { schemaName } = upload;
  const schema = schemaName ? await deps.withDb((db) => pinSchema(db, upload.tenantId, schemaName)) : null;
  const incomingKey = storageKeys.incoming(upload.tenantId, upload.fileId);
  // Charged for the bytes that arrived, as a direct upload's complete is, before they are copied; a full
  // quota leaves the tus upload in place (until it expires), so deleting files and sending HEAD again
  // finishes it.
  await deps.withDb((db) => reserveUpload(db, upload.tenantId, deps.limits, upload.size));
  let carried = false;
  const giveBack = async () => {
    if (!carried) await deps.withDb((db) => releaseReservation(db, upload.tenantId, upload.size));
  };
  // A server-side copy: the bytes never pass through the API again. The tus object stays until the file
  // exists, so a finish that fails half-way can simply run again.
  try {
    await copyObject(s3, bucket, tusUploadId(upload.tenantId, upload.fileId), incomingKey);
  } catch (error) {
    await giveBack();
    // A concurrent finish completed first and removed the tus object: its file is the answer.
    const raced = isNotFound(error) ? await replay() : null;
    if (raced) return raced;
    throw error;
  }
  const accepted: AcceptedUpload = {
    fileId: upload.fileId,
    tenantId: upload.tenantId,
    filename: upload.filename,
    declaredContentType: upload.declaredContentType,
    size: upload.size,
    incomingKey,
    tags: upload.tags,
    callbackUrl: upload.callbackUrl,
    retentionMs: upload.retentionMs,
    // The workflow checks the bytes against what tus was told (Upload-Length), trusting nothing.
    declared: { size: upload.size, sha256: null },
    createdAt: new Date(),
    ...(schema ? { schema } : {}),
  };
  let result: AcceptUploadResult;
  try {
    // The incoming copy stays whatever happens: a concurrent finish may own it, and a retry overwrites it.
    result = await admitUpload(scoped, accepted, {
      idempotencyKey: null,
      discard: async () => undefined,
      retryRepairs: true,
      // Kept with the row like a Kafka message's origin: which tus upload the file was assembled from.
      source: { tus: { uploadId: tusUploadId(upload.tenantId, upload.fileId), length: upload.size } },
      charged: true,
      onRowInserted: () => void (carried = true),
    });
  } catch (error) {
    await giveBack();
    // A concurrent finish (a retried PATCH racing a HEAD) inserted the row first: answer with its file.
    if (isUniqueViolation(error)) {
      const raced = await replay();
      if (raced) return raced;
    }
    throw error;
  }
  // The file has its own copy now. The small .info object stays, so HEAD keeps answering with the file id.
  await deleteKeys(s3, bucket, [tusUploadId(upload.tenantId, upload.fileId)]).catch((error: unknown) =>
    log.warn({ err: error }, 'could not delete the finished tus object; it is only a copy'),
  );
  return result;
}

export interface TusSweepDeps {
  s3: S3Client;
  bucket: string;
  expiryMs: number;
  log: Logger;
}

/**
 * Removes tus uploads whose `.info` is older than the expiry: an unfinished one's multipart upload is
 * aborted (S3 would keep and bill its parts forever) and its objects deleted; a finished one's `.info`
 * goes too (the file has its own copy, and tus answers 410 for it by then anyway). @tus/s3-store's own
 * deleteExpired lists every multipart upload in the bucket, direct uploads' included, and MinIO lists
 * them only per exact key (see activities/sweep-orphans.ts), so the `.info` objects are what is listed.
 */
export async function sweepExpiredTusUploads(deps: TusSweepDeps, now = Date.now()): Promise<number> {
  const { s3, bucket, expiryMs, log } = deps;
  let removed = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'tus/', ContinuationToken: token }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    for (const object of page.Contents ?? []) {
      const id = object.Key?.endsWith('.info') ? object.Key.slice(0, -'.info'.length) : undefined;
      if (!id || !parseTusUploadId(id) || !object.LastModified) continue;
      if (object.LastModified.getTime() + expiryMs > now) continue;
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: object.Key })).catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      const multipartId = head?.Metadata?.['upload-id'];
      if (multipartId) {
        await s3
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: id, UploadId: multipartId }))
          .catch((error: unknown) => {
            // Completed (a finished upload) or aborted already: nothing left to abort.
            if (!(isNotFound(error) || (error as { name?: string }).name === 'NoSuchUpload')) throw error;
          });
      }
      await deleteKeys(s3, bucket, [id, `${id}.part`, `${id}.info`]);
      removed++;
      log.info({ tusUpload: id, lastModified: object.LastModified }, 'removed an expired tus upload');
    }
  } while (token);
  return removed;
}
