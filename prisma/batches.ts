import { batchWorkflowIdFor, workflowIdFor } from '../common/task-queues';
import { emptyBatchCounts, FILE_STATUSES, type BatchCounts, type BatchStatus, type FileStatus } from '../common/domain';
import type { Batch, Db, DbClient } from './db';
import type { TenantLimits } from '../common/tenant-limits';
import type { NewFile } from './files';
import { releaseFileCharge, reserveUpload } from './quotas';

/*
 * The Batch table's repository. A batch and its files are inserted in one transaction, so a batch is
 * never seen without its files, nor a file pointing at a batch that is not there.
 */

export interface NewBatch {
  id: string;
  tenantId: string;
  fileCount: number | null;
  idempotencyKey: string | null;
  createdAt: Date;
}

/** A file of a new batch: PROCESSING, like a single upload, until its workflow records its outcome. */
export type NewBatchFile = Omit<NewFile, 'workflowId' | 'createdAt' | 'idempotencyKey'> & {
  /** A part refused on arrival: the refusal its workflow records (it stays PROCESSING until then). */
  reason: string | null;
};

/**
 * Inserts a PROCESSING batch and its PROCESSING files together, charging the tenant's quota for every
 * file not refused on arrival in the same transaction: a full quota (QuotaExceededError) inserts nothing.
 */
export async function insertBatch(
  db: Db,
  batch: NewBatch,
  files: readonly NewBatchFile[],
  limits: Pick<TenantLimits, 'storageBytes' | 'files'>,
): Promise<Batch> {
  const charged = files.filter((file) => file.reason === null);
  return db.$transaction(async (tx) => {
    if (charged.length > 0) {
      const bytes = charged.reduce((sum, file) => sum + file.size, 0);
      await reserveUpload(tx, batch.tenantId, limits, bytes, charged.length);
    }
    const row = await tx.batch.create({
      data: { ...batch, workflowId: batchWorkflowIdFor(batch.id), status: 'PROCESSING' satisfies BatchStatus },
    });
    await tx.file.createMany({
      data: files.map((file) => ({
        ...file,
        workflowId: workflowIdFor(file.id),
        batchId: batch.id,
        size: BigInt(file.size),
        retentionMs: BigInt(file.retentionMs),
        status: 'PROCESSING' satisfies FileStatus,
        createdAt: batch.createdAt,
        // The row carries its charge and gives it back once (prisma/quotas.ts); a refused part has none.
        chargedBytes: file.reason === null ? BigInt(file.size) : null,
      })),
    });
    return row;
  });
}

/**
 * The row of a batch a producer builds over time (a Kafka batch): created PROCESSING, without a file
 * count, by the first of its messages; every later one (and any redelivery) finds it.
 */
export async function ensureOpenBatch(db: DbClient, batch: { id: string; tenantId: string }): Promise<Batch> {
  await db.batch.createMany({
    data: [
      {
        id: batch.id,
        tenantId: batch.tenantId,
        workflowId: batchWorkflowIdFor(batch.id),
        status: 'PROCESSING' satisfies BatchStatus,
        fileCount: null,
      },
    ],
    skipDuplicates: true,
  });
  return db.batch.findUniqueOrThrow({ where: { id: batch.id } });
}

/**
 * Removes a batch whose workflow never started, with its files (nothing else refers to them), giving
 * back the quota its files carry.
 */
export async function deleteBatch(db: Db, id: string): Promise<void> {
  await db.$transaction(async (tx) => {
    const files = await tx.file.findMany({ where: { batchId: id }, select: { id: true } });
    for (const file of files) await releaseFileCharge(tx, file.id, false);
    await tx.file.deleteMany({ where: { batchId: id } });
    await tx.batch.deleteMany({ where: { id } });
  });
}

/**
 * Records that every file of the batch has its terminal status. Only a PROCESSING row changes, so a
 * retried activity (or a replayed one) keeps the first completion's time and counts.
 */
export async function recordBatchDone(
  db: DbClient,
  id: string,
  done: { counts: BatchCounts; fileCount: number; completedAt: Date },
): Promise<void> {
  await db.batch.updateMany({
    where: { id, status: 'PROCESSING' satisfies BatchStatus },
    data: {
      status: 'DONE' satisfies BatchStatus,
      counts: done.counts,
      fileCount: done.fileCount,
      completedAt: done.completedAt,
    },
  });
}

/**
 * A batch the database lacks, written back from its workflow (`intake reconcile` after a restore):
 * nothing is overwritten if the row exists. Its files are linked as they are reconciled.
 */
export async function insertReconciledBatch(
  db: DbClient,
  batch: {
    id: string;
    tenantId: string;
    status: BatchStatus;
    fileCount: number | null;
    counts: BatchCounts | null;
    createdAt: Date;
    completedAt: Date | null;
  },
): Promise<boolean> {
  const { counts, ...rest } = batch;
  const { count } = await db.batch.createMany({
    data: [{ ...rest, ...(counts ? { counts } : {}), workflowId: batchWorkflowIdFor(batch.id), idempotencyKey: null }],
    skipDuplicates: true,
  });
  return count === 1;
}

/** Another tenant's batch is indistinguishable from a missing one: both are null. */
export async function findTenantBatch(db: DbClient, tenantId: string, id: string): Promise<Batch | null> {
  return db.batch.findFirst({ where: { id, tenantId } });
}

export async function findBatchByIdempotencyKey(
  db: DbClient,
  tenantId: string,
  idempotencyKey: string,
): Promise<Batch | null> {
  return db.batch.findFirst({ where: { tenantId, idempotencyKey } });
}

/** The batch's files per status, every status present (0 when none). */
export async function countBatchFiles(db: DbClient, batchId: string): Promise<BatchCounts> {
  const groups = await db.file.groupBy({ by: ['status'], where: { batchId }, _count: { _all: true } });
  const counts = emptyBatchCounts();
  for (const group of groups) {
    if ((FILE_STATUSES as readonly string[]).includes(group.status)) {
      counts[group.status as FileStatus] = group._count._all;
    }
  }
  return counts;
}
