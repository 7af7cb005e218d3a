import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3';
import type { DeclaredFacts } from '../common/domain';
import { newDirectUploadId, newFileId } from '../lib/ids';
import { planParts, presignPart, presignSinglePut, type PresignedRequest } from '../lib/presigned-uploads';
import { isNotFound } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import {
  createDirectUpload,
  findTenantDirectUpload,
  markDirectUploadCompleted,
  type DirectUploadRecord,
} from '../prisma/direct-uploads';
import { findTenantFile, isUniqueViolation } from '../prisma/file-records';
import { checkUploadFits, releaseReservation, reserveUpload } from '../prisma/quotas';
import {
  UploadRefused,
  admitUpload,
  pinSchema,
  restartIfLost,
  type AcceptUploadDeps,
  type AcceptUploadResult,
  type AcceptedUpload,
} from './accept-upload';

/*
 * Direct-to-S3 uploads: the API hands out presigned URLs and never touches the bytes. Start records what
 * the client declares and signs the URLs; complete checks the bytes arrived, then admits the upload
 * exactly as POST /v1/files does (admitUpload: row, then workflow), with the declaration in the
 * workflow's input for the validate step to check.
 */

export interface DirectUploadRequest {
  tenantId: string;
  filename: string;
  size: number;
  contentType: string | null;
  sha256: string | null;
  callbackUrl: string | null;
  retentionMs: number;
  tags: string[];
  /** The tenant's JSON Schema the upload names; its current version is pinned at start. */
  schemaName?: string | null;
}

export type DirectUploadPlan =
  | { kind: 'single'; put: PresignedRequest }
  | { kind: 'multipart'; partSize: number; parts: (PresignedRequest & { partNumber: number; size: number })[] };

export interface StartedDirectUpload {
  upload: DirectUploadRecord;
  plan: DirectUploadPlan;
}

export async function startDirectUpload(
  deps: AcceptUploadDeps,
  request: DirectUploadRequest,
): Promise<StartedDirectUpload> {
  const { config, s3 } = deps;
  const { bucket, encryption } = config.s3;
  const { thresholdBytes, partBytes, expiryMs } = config.directUploads;
  const fileId = newFileId();
  const key = storageKeys.incoming(request.tenantId, fileId);
  const expiresAt = new Date(Date.now() + expiryMs);
  const expiresInSeconds = Math.max(1, Math.floor(expiryMs / 1000));
  // Refused before the client sends a byte; the reservation itself is taken at complete, for the
  // bytes that actually arrived.
  await deps.withDb((db) => checkUploadFits(db, request.tenantId, deps.limits, request.size));
  const { schemaName } = request;
  const schema = schemaName ? await deps.withDb((db) => pinSchema(db, request.tenantId, schemaName)) : null;
  const base = {
    id: newDirectUploadId(),
    fileId,
    tenantId: request.tenantId,
    filename: request.filename,
    size: request.size,
    contentType: request.contentType,
    sha256: request.sha256,
    callbackUrl: request.callbackUrl,
    retentionMs: request.retentionMs,
    tags: request.tags,
    expiresAt,
    ...(schema ? { schemaName: schema.name, schemaVersion: schema.version } : {}),
  };

  if (request.size <= thresholdBytes) {
    const put = await presignSinglePut(s3, { bucket, key, size: request.size, encryption, expiresInSeconds });
    const upload = await deps.withDb((db) =>
      createDirectUpload(db, { ...base, multipartUploadId: null, partSize: null }),
    );
    return { upload, plan: { kind: 'single', put } };
  }

  const parts = planParts(request.size, partBytes);
  const created = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }),
  );
  const uploadId = created.UploadId!;
  try {
    const signed = await Promise.all(
      parts.map(async (part) => ({
        ...part,
        ...(await presignPart(s3, { bucket, key, uploadId, part, expiresInSeconds })),
      })),
    );
    const upload = await deps.withDb((db) =>
      createDirectUpload(db, { ...base, multipartUploadId: uploadId, partSize: parts[0]!.size }),
    );
    return { upload, plan: { kind: 'multipart', partSize: parts[0]!.size, parts: signed } };
  } catch (error) {
    // Nobody will ever complete a multipart upload the client never heard of.
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch((abortError: unknown) => deps.log.warn({ err: abortError }, 'could not abort a multipart upload'));
    throw error;
  }
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export const declaredFactsOf = (upload: DirectUploadRecord): DeclaredFacts => ({
  size: Number(upload.size),
  sha256: upload.sha256,
});

/**
 * Completes a direct upload: finishes its multipart upload (with the client's part ETags), checks the
 * object exists, then admits it. A repeated complete answers with the same file (and starts its
 * workflow if a crash lost the start); an expired one is refused, and bytes that never arrived too.
 */
export async function completeDirectUpload(
  deps: AcceptUploadDeps,
  request: { tenantId: string; id: string; parts: CompletedPart[] | undefined },
): Promise<AcceptUploadResult & { upload: DirectUploadRecord }> {
  const { config, s3 } = deps;
  const bucket = config.s3.bucket;
  const upload = await deps.withDb((db) => findTenantDirectUpload(db, request.tenantId, request.id));
  if (!upload) throw new UploadRefused('upload_not_found', `No direct upload ${request.id}`);
  const log = deps.log.child({ uploadId: upload.id, fileId: upload.fileId });
  const scoped = { ...deps, log };
  const declared = declaredFactsOf(upload);

  const replay = async (): Promise<(AcceptUploadResult & { upload: DirectUploadRecord }) | null> => {
    const row = await deps.withDb((db) => findTenantFile(db, upload.tenantId, upload.fileId));
    if (!row) return null;
    await restartIfLost(scoped, row, 'a retried complete', declared);
    await deps.withDb((db) => markDirectUploadCompleted(db, upload.id));
    return { row, replayed: true, upload };
  };
  const earlier = await replay();
  if (earlier) return earlier;
  if (upload.status === 'expired' || upload.expiresAt.getTime() <= Date.now()) {
    throw new UploadRefused(
      'upload_expired',
      `Direct upload ${upload.id} expired at ${upload.expiresAt.toISOString()} before it was completed; start a new one`,
    );
  }

  const key = storageKeys.incoming(upload.tenantId, upload.fileId);
  if (upload.multipartUploadId) {
    if (!request.parts || request.parts.length === 0) {
      throw new UploadRefused('upload_incomplete', 'A multipart upload is completed with the ETag of every part');
    }
    await finishMultipart(deps, { bucket, key, uploadId: upload.multipartUploadId, parts: request.parts });
  }
  let size: number;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    size = head.ContentLength ?? 0;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new UploadRefused('upload_incomplete', `No bytes have arrived for direct upload ${upload.id}`);
  }

  const accepted: AcceptedUpload = {
    fileId: upload.fileId,
    tenantId: upload.tenantId,
    filename: upload.filename,
    declaredContentType: upload.contentType,
    size,
    incomingKey: key,
    tags: upload.tags,
    callbackUrl: upload.callbackUrl,
    retentionMs: Number(upload.retentionMs),
    declared,
    createdAt: new Date(),
    ...(upload.schemaName && upload.schemaVersion !== null
      ? { schema: { name: upload.schemaName, version: upload.schemaVersion } }
      : {}),
  };
  // The quota is reserved for the bytes that arrived; a full quota leaves the upload pending (and its
  // bytes in place until it expires), so deleting files and completing again succeeds.
  await deps.withDb((db) => reserveUpload(db, upload.tenantId, deps.limits, size));
  let carried = false;
  try {
    // The bytes stay whatever happens: they are the client's, and a retried complete needs them.
    const result = await admitUpload(scoped, accepted, {
      idempotencyKey: null,
      discard: async () => undefined,
      retryRepairs: true,
      charged: true,
      onRowInserted: () => void (carried = true),
    });
    await deps.withDb((db) => markDirectUploadCompleted(db, upload.id));
    return { ...result, upload };
  } catch (error) {
    if (!carried) await deps.withDb((db) => releaseReservation(db, upload.tenantId, size));
    // A concurrent complete inserted the row first: answer with its file.
    if (isUniqueViolation(error)) {
      const raced = await replay();
      if (raced) return raced;
    }
    throw error;
  }
}

/** S3's answers that mean the parts named are not (all) there: the client's problem, a 409. */
const INCOMPLETE_PARTS = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'NoSuchUpload']);

async function finishMultipart(
  deps: AcceptUploadDeps,
  target: { bucket: string; key: string; uploadId: string; parts: CompletedPart[] },
): Promise<void> {
  const parts = [...target.parts].sort((a, b) => a.partNumber - b.partNumber);
  try {
    await deps.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: target.uploadId,
        MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
      }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (!INCOMPLETE_PARTS.has(name)) throw error;
    // NoSuchUpload after a concurrent complete finished it: the object is there, and the head decides.
    if (name === 'NoSuchUpload') return;
    throw new UploadRefused('upload_incomplete', `S3 refused to assemble the parts: ${(error as Error).message}`);
  }
}
