import type { DbClient, DirectUpload } from './db';

/**
 * The DirectUpload table's repository. A row is `pending` from POST /v1/uploads until its complete
 * (`completed`, the File row then exists) or until the sweeper removes what an abandoned one left in
 * S3 (`expired`). Status changes are conditional on `pending`, so the API and the sweeper never both win.
 */

export type DirectUploadRecord = DirectUpload;
export type DirectUploadStatus = 'pending' | 'completed' | 'expired';

export interface NewDirectUpload {
  id: string;
  tenantId: string;
  fileId: string;
  filename: string;
  size: number;
  contentType: string | null;
  sha256: string | null;
  callbackUrl: string | null;
  retentionMs: number;
  tags: string[];
  multipartUploadId: string | null;
  partSize: number | null;
  expiresAt: Date;
  schemaName?: string;
  schemaVersion?: number;
}

export async function createDirectUpload(db: DbClient, upload: NewDirectUpload): Promise<DirectUploadRecord> {
  return db.directUpload.create({
    data: {
      ...upload,
      size: BigInt(upload.size),
      retentionMs: BigInt(upload.retentionMs),
      partSize: upload.partSize === null ? null : BigInt(upload.partSize),
      status: 'pending' satisfies DirectUploadStatus,
    },
  });
}

/** Another tenant's upload is indistinguishable from a missing one. */
export async function findTenantDirectUpload(
  db: DbClient,
  tenantId: string,
  id: string,
): Promise<DirectUploadRecord | null> {
  return db.directUpload.findFirst({ where: { id, tenantId } });
}

/** The direct uploads behind these files, for the sweeper (declared facts, pending objects). */
export async function findDirectUploadsOfFiles(db: DbClient, fileIds: string[]): Promise<DirectUploadRecord[]> {
  return fileIds.length === 0 ? [] : db.directUpload.findMany({ where: { fileId: { in: fileIds } } });
}

/** pending → completed; false when it was no longer pending. */
export async function markDirectUploadCompleted(db: DbClient, id: string): Promise<boolean> {
  const { count } = await db.directUpload.updateMany({
    where: { id, status: 'pending' satisfies DirectUploadStatus },
    data: { status: 'completed' satisfies DirectUploadStatus, completedAt: new Date() },
  });
  return count === 1;
}

/** pending → expired, once its object or multipart upload is gone; false when it was no longer pending. */
export async function markDirectUploadExpired(db: DbClient, id: string): Promise<boolean> {
  const { count } = await db.directUpload.updateMany({
    where: { id, status: 'pending' satisfies DirectUploadStatus },
    data: { status: 'expired' satisfies DirectUploadStatus },
  });
  return count === 1;
}

/** A page of pending uploads whose expiry passed before `cutoff`, oldest expiry first. */
export async function findAbandonedDirectUploads(
  db: DbClient,
  cutoff: Date,
  take: number,
  after: { expiresAt: Date; id: string } | null,
): Promise<DirectUploadRecord[]> {
  return db.directUpload.findMany({
    where: {
      status: 'pending' satisfies DirectUploadStatus,
      expiresAt: { lt: cutoff },
      ...(after
        ? { OR: [{ expiresAt: { gt: after.expiresAt } }, { expiresAt: after.expiresAt, id: { gt: after.id } }] }
        : {}),
    },
    orderBy: [{ expiresAt: 'asc' }, { id: 'asc' }],
    take,
  });
}
