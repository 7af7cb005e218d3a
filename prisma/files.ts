import { workflowIdFor } from '../common/task-queues';
import type { FileStatus } from '../common/domain';
import type { Db, DbClient, File, Prisma } from './db';
import { chargeAcceptedFile, releaseFileCharge, RELEASED_STATUSES } from './quotas';

/**
 * The File table's repository: every write to a File row goes through one of these functions, so the
 * rules about a row (a tombstone is final, a quarantined row never points at the incoming object, the
 * search vector is SQL-only) live in one place. Reads that serve one caller stay with that caller.
 */

/** The columns a row's identity fixes; everything else is a fact the pipeline learns and may rewrite. */
type RowIdentity = 'id' | 'tenantId' | 'workflowId' | 'createdAt';

/** What the pipeline writes about a file, in Prisma's own column types. */
export type FileFacts = Omit<Prisma.FileUncheckedCreateInput, RowIdentity>;

/** Identifies the row a write creates when it does not exist yet (the workflow id follows from the file id). */
export interface FileKey {
  id: string;
  tenantId: string;
  createdAt?: Date;
}

/** What the API knows of an upload when it accepts it, before its workflow starts. */
export type NewFile = Pick<
  Prisma.FileUncheckedCreateInput,
  | 'id'
  | 'tenantId'
  | 'workflowId'
  | 'filename'
  | 'declaredContentType'
  | 'tags'
  | 'callbackUrl'
  | 'idempotencyKey'
  | 'ingestSource'
  | 'batchId'
  | 'traceId'
  | 'storageKey'
  | 'createdAt'
  | 'schemaName'
  | 'schemaVersion'
> & { size: number; retentionMs: number; chargedBytes?: number };

/** The row of an accepted upload: PROCESSING until its workflow records an outcome. */
export async function insertProcessing(db: DbClient, file: NewFile): Promise<File> {
  return db.file.create({
    data: {
      ...file,
      size: BigInt(file.size),
      chargedBytes: file.chargedBytes === undefined ? null : BigInt(file.chargedBytes),
      retentionMs: BigInt(file.retentionMs),
      status: 'PROCESSING' satisfies FileStatus,
    },
  });
}

/**
 * Writes the row of a file the database lost (restored from a backup older than the upload) as
 * `intake reconcile` rebuilt it from the file's workflow and S3, and charges its bytes to its tenant
 * when it carries a charge, in one transaction. Throws a unique violation (isUniqueViolation) when the
 * row appeared meanwhile: its workflow recorded it first.
 */
export async function insertReconciled(db: Db, row: Prisma.FileUncheckedCreateInput): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.file.create({ data: row });
    if (row.chargedBytes !== null && row.chargedBytes !== undefined) {
      await chargeAcceptedFile(tx, row.tenantId, BigInt(row.chargedBytes));
    }
  });
}

/**
 * Points a row at the objects `intake reconcile` found in S3, for a file whose store step (or
 * quarantine) ran after the backup the row came from. A tombstone keeps pointing at nothing.
 */
export async function recordFoundObjects(
  db: DbClient,
  id: string,
  keys: { storageKey?: string; quarantineKey?: string },
): Promise<void> {
  await db.file.updateMany({ where: { id, status: { not: 'DELETED' satisfies FileStatus } }, data: keys });
}

/** Removes a row outright: only for an upload whose workflow never started, so nothing else refers to it. */
export async function deleteRow(db: DbClient, id: string): Promise<void> {
  await releaseFileCharge(db, id, false);
  await db.file.deleteMany({ where: { id } });
}

function createFor(key: FileKey, facts: FileFacts): Prisma.FileUncheckedCreateInput {
  return {
    id: key.id,
    tenantId: key.tenantId,
    workflowId: workflowIdFor(key.id),
    ...(key.createdAt ? { createdAt: key.createdAt } : {}),
    ...facts,
  };
}

/**
 * Records that an upload was found infected and moved to quarantine. The incoming object is gone, so
 * the row must not point at it. A row that does not exist yet is created with only what the scan knows;
 * the workflow's recordFile fills in the rest.
 */
export async function recordQuarantine(
  db: DbClient,
  key: FileKey,
  scanned: { quarantineKey: string; sha256: string; size: number },
): Promise<void> {
  const size = BigInt(scanned.size);
  await db.file.upsert({
    where: { id: key.id },
    create: createFor(key, {
      filename: '',
      size,
      sha256: scanned.sha256,
      status: 'PROCESSING' satisfies FileStatus,
      quarantineKey: scanned.quarantineKey,
    }),
    update: { quarantineKey: scanned.quarantineKey, storageKey: null, sha256: scanned.sha256, size },
  });
}

/** Records the stored original and what the pipeline learnt about it; upserted by file id, so a retry is harmless. */
export async function recordStored(db: DbClient, key: FileKey, facts: FileFacts): Promise<void> {
  await db.file.upsert({ where: { id: key.id }, create: createFor(key, facts), update: facts });
}

/**
 * Mirrors the workflow's state into the row, upserting by file id. A tombstone is final: a late
 * snapshot (e.g. a cancelled step's record racing the deletion) never brings a deleted file's row back
 * to life, while a DELETED snapshot is always written. Returns true when this write took the row out
 * of PROCESSING (or created it with an outcome): the one write that counts an outcome, however often
 * the workflow records the same state again (a retried activity, a retention change).
 */
export async function mirrorState(db: DbClient, key: FileKey, facts: FileFacts): Promise<boolean> {
  const counted = await writeState(db, key, facts);
  if ((RELEASED_STATUSES as readonly string[]).includes(facts.status)) await releaseFileCharge(db, key.id);
  return counted;
}

async function writeState(db: DbClient, key: FileKey, facts: FileFacts): Promise<boolean> {
  const processing = 'PROCESSING' satisfies FileStatus;
  if (facts.status !== ('DELETED' satisfies FileStatus)) {
    if (facts.status !== processing) {
      const { count } = await db.file.updateMany({ where: { id: key.id, status: processing }, data: facts });
      if (count > 0) return true;
    }
    const { count } = await db.file.updateMany({
      where: { id: key.id, status: { not: 'DELETED' satisfies FileStatus } },
      data: facts,
    });
    if (count > 0) return false;
    const existing = await db.file.findUnique({ where: { id: key.id }, select: { id: true } });
    if (existing) return false;
  }
  await db.file.upsert({ where: { id: key.id }, create: createFor(key, facts), update: facts });
  // Here only a DELETED snapshot, or one whose row did not exist: that one's outcome is new.
  return facts.status !== processing && facts.status !== ('DELETED' satisfies FileStatus);
}

/**
 * Turns the row into a tombstone: id, tenant, filename, sha256 and timestamps stay, content and index
 * go. A repeated call keeps the first deletion's time and reason. False when the file has no row.
 */
export async function tombstone(db: DbClient, id: string, reason: string): Promise<boolean> {
  const row = await db.file.findUnique({ where: { id }, select: { deletedAt: true, deletionReason: true } });
  if (!row) return false;
  await db.file.update({
    where: { id },
    data: {
      status: 'DELETED' satisfies FileStatus,
      deletedAt: row.deletedAt ?? new Date(),
      deletionReason: row.deletionReason ?? reason,
      renditions: [],
      bodyText: null,
      storageKey: null,
      quarantineKey: null,
    },
  });
  // Prisma cannot write an Unsupported("tsvector") column, so the index entry is cleared in SQL.
  await db.$executeRaw`UPDATE "File" SET "searchVector" = NULL WHERE id = ${id}`;
  await releaseFileCharge(db, id);
  return true;
}

/** Marks a still-PROCESSING row FAILED; a row that reached an outcome meanwhile keeps it. Returns the rows changed (0 or 1). */
export async function failIfProcessing(db: DbClient, id: string, reason: string): Promise<number> {
  const { count } = await db.file.updateMany({
    where: { id, status: 'PROCESSING' satisfies FileStatus },
    data: { status: 'FAILED' satisfies FileStatus, reason, completedAt: new Date() },
  });
  if (count > 0) await releaseFileCharge(db, id);
  return count;
}

/**
 * The row's full-text index entry, over three SQL text expressions (bound parameters, or the columns
 * of the bench's seed table, bench/seed-files.ts, which must write what the index step writes).
 * Filename and tags weigh more than content in ranking; content positions are stripped to keep it small.
 */
export const searchVectorSql = (names: string, tags: string, content: string): string =>
  `setweight(to_tsvector('simple', ${names}), 'A') || setweight(to_tsvector('simple', ${tags}), 'B') || strip(to_tsvector('simple', ${content}))`;

/** Rewrites the row's full-text index entry. Raw SQL because Prisma cannot write tsvector columns. */
export async function updateSearchVector(
  db: DbClient,
  id: string,
  text: { names: string; tags: string; content: string },
): Promise<void> {
  await db.$executeRawUnsafe(
    `UPDATE "File" SET "searchVector" = ${searchVectorSql('$1', '$2', '$3')} WHERE id = $4`,
    text.names,
    text.tags,
    text.content,
    id,
  );
}
