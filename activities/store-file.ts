import { copyObject, deleteKeys, objectExists } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import { objectMissing } from '../common/failures';
import { recordStored, type FileFacts } from '../prisma/files';
import type { ActivityDeps } from './deps';
import { toJson } from './json-column';
import type { StoreInput, StoreResult } from './types';

/**
 * Moves the original from the incoming area to permanent storage (a server-side copy, then delete) and
 * records what the pipeline learnt about it. Safe to repeat: a retry after the move finds the incoming
 * object gone and the original in place, and the row is upserted by file id.
 */
export async function storeFile(deps: ActivityDeps, input: StoreInput): Promise<StoreResult> {
  const { config, s3, db } = deps;
  const bucket = config.s3.bucket;
  const { upload, scan, validation, renditions } = input;
  const originalKey = storageKeys.original(upload.tenantId, upload.fileId);

  if (await objectExists(s3, bucket, upload.incomingKey)) {
    await copyObject(s3, bucket, upload.incomingKey, originalKey);
    await deleteKeys(s3, bucket, [upload.incomingKey]);
  } else if (!(await objectExists(s3, bucket, originalKey))) {
    throw objectMissing('The uploaded file is neither in the incoming area nor in storage, so it cannot be stored.');
  }

  const facts: FileFacts = {
    filename: upload.filename,
    declaredContentType: upload.declaredContentType,
    contentType: validation.contentType,
    size: BigInt(scan.size),
    sha256: scan.sha256,
    width: validation.width,
    height: validation.height,
    pages: validation.pages ?? null,
    encrypted: validation.encrypted ?? null,
    tags: upload.tags,
    renditions: toJson(renditions),
    storageKey: originalKey,
    callbackUrl: upload.callbackUrl,
    status: 'PROCESSING',
  };
  await recordStored(
    db,
    { id: upload.fileId, tenantId: upload.tenantId, createdAt: new Date(upload.createdAt) },
    facts,
  );
  return { key: originalKey };
}
