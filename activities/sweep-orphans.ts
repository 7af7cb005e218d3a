import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type pino from 'pino';
import type { Config } from '../config/env';
import { deleteKeys, isNotFound, objectExists } from '../lib/s3-objects';
import type { Db } from '../prisma/db';
import {
  findAbandonedDirectUploads,
  findDirectUploadsOfFiles,
  markDirectUploadCompleted,
  markDirectUploadExpired,
} from '../prisma/direct-uploads';
import { failIfProcessing } from '../prisma/files';
import { declaredFactsOf } from '../services/direct-upload';
import { storageKeys } from '../lib/storage-keys';
import { acceptedUploadOf, startAcceptedUpload, workflowExists } from '../services/accept-upload';
import { batchMemberDoneSignal } from '../common/messages';
import { batchWorkflowIdFor, workflowIdFor } from '../common/task-queues';
import type { FileStatus } from '../common/domain';
import { classifyFailure } from './create-activities';
import type { SweepPageInput, SweepPageResult, SweeperActivities } from './types';

export interface SweeperDeps {
  config: Config;
  s3: S3Client;
  db: Db;
  /** Describes and starts upload workflows. */
  temporal: Client;
  log?: pino.Logger;
}

export const INTERRUPTED_REASON = 'upload was interrupted before processing started';

const INCOMING_PREFIX = 'incoming/';
const INCOMING_KEY = /^incoming\/([^/]+)\/([^/]+)$/;

/**
 * The sweeper's activities: they clean up what a crash between the API's steps (object written →
 * File row → workflow start) or an abandoned multipart upload leaves behind, where no workflow
 * exists to do it. Each handles one bounded page and is safe to repeat.
 */
export function createSweeperActivities(deps: SweeperDeps): SweeperActivities {
  const bind =
    (activity: (deps: SweeperDeps, input: SweepPageInput) => Promise<SweepPageResult>) =>
    (input: SweepPageInput): Promise<SweepPageResult> =>
      activity(deps, input).catch((error: unknown) => {
        throw classifyFailure(error);
      });
  return {
    deleteOrphanedIncomingObjects: bind(deleteOrphanedIncomingObjects),
    recoverStalledUploads: bind(recoverStalledUploads),
    abortStaleMultipartUploads: bind((d, input) => abortStaleMultipartUploads(d, input)),
    expireAbandonedDirectUploads: bind(expireAbandonedDirectUploads),
  };
}

/**
 * (a) An incoming object older than the grace period without a File row belongs to an upload whose
 * request died before the row was written: the client never got a 202, so nobody can refer to it.
 * The grace period must outlast the slowest upload (S3 may date a multipart object from its start).
 */
export async function deleteOrphanedIncomingObjects(
  { config, s3, db, log }: SweeperDeps,
  { olderThan, pageSize, cursor }: SweepPageInput,
): Promise<SweepPageResult> {
  const bucket = config.s3.bucket;
  const cutoff = new Date(olderThan);
  const page = await s3.send(
    new ListObjectsV2Command({
      Bucket: bucket,
      Prefix: INCOMING_PREFIX,
      MaxKeys: pageSize,
      StartAfter: cursor ?? undefined,
    }),
  );
  const objects = page.Contents ?? [];
  const candidates: { key: string; fileId: string }[] = [];
  for (const object of objects) {
    const match = object.Key ? INCOMING_KEY.exec(object.Key) : null;
    // Keys the API never writes are not ours to judge; only incoming/<tenant>/<fileId> is swept.
    if (!match || !object.LastModified || object.LastModified >= cutoff) continue;
    candidates.push({ key: object.Key!, fileId: match[2]! });
  }
  let deleted = 0;
  if (candidates.length > 0) {
    const rows = await db.file.findMany({
      where: { id: { in: candidates.map((c) => c.fileId) } },
      select: { id: true },
    });
    // A pending direct upload's object has no File row until its complete: the expiry phase judges it.
    const direct = await findDirectUploadsOfFiles(
      db,
      candidates.map((c) => c.fileId),
    );
    const known = new Set([
      ...rows.map((row) => row.id),
      ...direct.filter((upload) => upload.status === 'pending').map((upload) => upload.fileId),
    ]);
    const orphans = candidates.filter((c) => !known.has(c.fileId)).map((c) => c.key);
    if (orphans.length > 0) {
      await deleteKeys(s3, bucket, orphans);
      deleted = orphans.length;
      log?.info({ keys: orphans }, 'deleted incoming objects that no upload refers to');
    }
  }
  const last = objects[objects.length - 1]?.Key;
  return { counts: { orphanObjectsDeleted: deleted }, nextCursor: page.IsTruncated && last ? last : null };
}

interface RowCursor {
  createdAt: string;
  id: string;
}

/**
 * (b) and (c): a PROCESSING row older than the grace period whose workflow does not exist was
 * accepted (the client got a 202) but its workflow start was lost. With its bytes still in the
 * incoming area the workflow is started now, so nothing accepted is lost; without them nothing can
 * be processed, and the row says so (FAILED) instead of PROCESSING forever.
 */
export async function recoverStalledUploads(
  { config, s3, db, temporal, log }: SweeperDeps,
  { olderThan, pageSize, cursor }: SweepPageInput,
): Promise<SweepPageResult> {
  const after = cursor ? (JSON.parse(cursor) as RowCursor) : null;
  const rows = await db.file.findMany({
    where: {
      status: 'PROCESSING' satisfies FileStatus,
      createdAt: { lt: new Date(olderThan) },
      // Keyset pagination on (createdAt, id): stable while rows change status under the sweep.
      ...(after
        ? {
            OR: [
              { createdAt: { gt: new Date(after.createdAt) } },
              { createdAt: new Date(after.createdAt), id: { gt: after.id } },
            ],
          }
        : {}),
    },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: pageSize,
  });

  let restarted = 0;
  let failed = 0;
  // A direct upload's declaration must reach its restarted workflow, or its bytes would go unchecked.
  const declared = new Map(
    (
      await findDirectUploadsOfFiles(
        db,
        rows.map((row) => row.id),
      )
    ).map((upload) => [upload.fileId, declaredFactsOf(upload)]),
  );
  for (const row of rows) {
    const workflowId = workflowIdFor(row.id);
    if (await workflowExists(temporal, workflowId)) continue;
    const upload = acceptedUploadOf(row, config, declared.get(row.id));
    const rowLog = log?.child({ fileId: row.id, workflowId });

    // A batch part refused on arrival has no bytes to find: its workflow records the refusal.
    if (upload.refusal !== undefined || (await objectExists(s3, config.s3.bucket, upload.incomingKey))) {
      try {
        await startAcceptedUpload(temporal, config, upload);
        restarted++;
        rowLog?.warn('started the workflow of an accepted upload whose start was lost');
      } catch (error) {
        // Someone (the API, an overlapping sweep) started it meanwhile: exactly what was wanted.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      continue;
    }

    // Only while still PROCESSING: a workflow that finished meanwhile keeps its outcome.
    const count = await failIfProcessing(db, row.id, INTERRUPTED_REASON);
    failed += count;
    if (count > 0) rowLog?.warn('marked FAILED: neither its bytes nor its workflow exist');
    // No workflow will tell this file's batch: the sweeper does, or the batch would wait for ever.
    if (count > 0 && row.batchId !== null) await tellBatchOfFailure(temporal, row.batchId, row.id, rowLog);
  }

  const last = rows[rows.length - 1];
  return {
    counts: { uploadsRestarted: restarted, uploadsFailed: failed },
    nextCursor:
      rows.length === pageSize && last
        ? JSON.stringify({ createdAt: last.createdAt.toISOString(), id: last.id } satisfies RowCursor)
        : null,
  };
}

async function tellBatchOfFailure(temporal: Client, batchId: string, fileId: string, log: pino.Logger | undefined) {
  try {
    await temporal.workflow
      .getHandle(batchWorkflowIdFor(batchId))
      .signal(batchMemberDoneSignal, { fileId, status: 'FAILED' satisfies FileStatus });
  } catch (error) {
    log?.error({ err: error, batchId }, 'could not tell the batch of a file marked FAILED');
  }
}

interface MultipartCursor {
  keyMarker: string;
  uploadIdMarker: string;
}

/**
 * (d) Aborts multipart uploads under incoming/ started before the cutoff: a client that vanished
 * mid-upload leaves parts that S3 bills for and keeps forever unless something aborts them. This
 * makes the guarantee hold on AWS S3 and other stores without a lifecycle rule. MinIO lists
 * multipart uploads only for an exact object key (minio/minio#20989, "working as intended"), so there
 * this finds nothing and MinIO's own stale-upload expiry does the job (infra/minio-server.ts).
 * `prefix` is incoming/ for the sweeper; tests pass one exact key, the listing MinIO does support.
 */
export async function abortStaleMultipartUploads(
  { config, s3, log }: SweeperDeps,
  { olderThan, pageSize, cursor }: SweepPageInput,
  prefix: string = INCOMING_PREFIX,
): Promise<SweepPageResult> {
  const bucket = config.s3.bucket;
  const cutoff = new Date(olderThan);
  const after = cursor ? (JSON.parse(cursor) as MultipartCursor) : null;
  const page = await s3.send(
    new ListMultipartUploadsCommand({
      Bucket: bucket,
      Prefix: prefix,
      MaxUploads: pageSize,
      KeyMarker: after?.keyMarker,
      UploadIdMarker: after?.uploadIdMarker,
    }),
  );
  let aborted = 0;
  for (const upload of page.Uploads ?? []) {
    if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= cutoff) continue;
    try {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
      aborted++;
      log?.info({ key: upload.Key, initiated: upload.Initiated }, 'aborted a stale multipart upload');
    } catch (error) {
      // Completed or aborted since the listing: nothing left to clean.
      if (!(isNotFound(error) || (error as { name?: string }).name === 'NoSuchUpload')) throw error;
    }
  }
  const nextCursor =
    page.IsTruncated && page.NextKeyMarker
      ? JSON.stringify({
          keyMarker: page.NextKeyMarker,
          uploadIdMarker: page.NextUploadIdMarker ?? '',
        } satisfies MultipartCursor)
      : null;
  return { counts: { multipartUploadsAborted: aborted }, nextCursor };
}

interface ExpiryCursor {
  expiresAt: string;
  id: string;
}

/**
 * (e) A direct upload not completed before its expiry (by more than the grace period, so a complete
 * that began in time has long finished) is abandoned: its object or multipart upload is removed and it
 * is marked expired, so its complete answers 410. One whose File row exists was completed after all
 * (the API died before marking it): it is marked completed and its bytes are left alone.
 */
export async function expireAbandonedDirectUploads(
  { config, s3, db, log }: SweeperDeps,
  { olderThan, pageSize, cursor }: SweepPageInput,
): Promise<SweepPageResult> {
  const bucket = config.s3.bucket;
  const after = cursor ? (JSON.parse(cursor) as ExpiryCursor) : null;
  const uploads = await findAbandonedDirectUploads(
    db,
    new Date(olderThan),
    pageSize,
    after ? { expiresAt: new Date(after.expiresAt), id: after.id } : null,
  );
  let expired = 0;
  for (const upload of uploads) {
    if (await db.file.findUnique({ where: { id: upload.fileId }, select: { id: true } })) {
      await markDirectUploadCompleted(db, upload.id);
      continue;
    }
    const key = storageKeys.incoming(upload.tenantId, upload.fileId);
    if (upload.multipartUploadId) {
      try {
        await s3.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.multipartUploadId }),
        );
      } catch (error) {
        // Aborted or completed already: nothing left to abort.
        if (!(isNotFound(error) || (error as { name?: string }).name === 'NoSuchUpload')) throw error;
      }
    }
    await deleteKeys(s3, bucket, [key]);
    if (await markDirectUploadExpired(db, upload.id)) {
      expired++;
      log?.info(
        { uploadId: upload.id, fileId: upload.fileId, expiresAt: upload.expiresAt },
        'expired an abandoned direct upload',
      );
    }
  }
  const last = uploads[uploads.length - 1];
  return {
    counts: { directUploadsExpired: expired },
    nextCursor:
      uploads.length === pageSize && last
        ? JSON.stringify({ expiresAt: last.expiresAt.toISOString(), id: last.id } satisfies ExpiryCursor)
        : null,
  };
}
