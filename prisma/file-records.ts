import { Prisma, type Db, type File } from './db';
import type { FileStatus } from '../common/domain';

/**
 * The File columns the API reads: Prisma's File model, which leaves out the Unsupported search vector,
 * less a PDF's body text (up to 64 Ki characters a row, read only by the index step).
 */
export type FileRecord = Omit<File, 'bodyText'>;

const COLUMNS = Object.values(Prisma.FileScalarFieldEnum).filter(
  (c): c is Exclude<typeof c, 'bodyText'> => c !== 'bodyText',
);
const SELECT = Object.fromEntries(COLUMNS.map((c) => [c, true])) as Record<(typeof COLUMNS)[number], true>;

/** Another tenant's file is indistinguishable from a missing one: both are null. */
export async function findTenantFile(db: Db, tenantId: string, id: string): Promise<FileRecord | null> {
  return db.file.findFirst({ where: { id, tenantId }, select: SELECT });
}

export async function findByIdempotencyKey(
  db: Db,
  tenantId: string,
  idempotencyKey: string,
): Promise<FileRecord | null> {
  return db.file.findFirst({ where: { tenantId, idempotencyKey }, select: SELECT });
}

// Writes to the File table live in its repository; the API's names for them are kept here.

/** Prisma's unique-constraint violation: the idempotency race was lost to a concurrent request. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

export interface ListFilter {
  status?: FileStatus;
  contentType?: string;
  q?: string;
  batchId?: string;
  /** Files carrying this tag. */
  tag?: string;
  /** Uploaded at or after / before these instants. */
  createdFrom?: Date;
  createdBefore?: Date;
  limit: number;
  cursor?: { createdAt: Date; id: string };
}

/**
 * The tenant's files, newest first, keyset-paginated on (createdAt, id) so pages stay stable while
 * uploads arrive. `q` runs over the full-text index the index activity writes and matches any part of the
 * filename (pg_trgm index). Tombstones are left out unless `status` is DELETED. Raw SQL because Prisma
 * cannot query tsvector columns; every value is a bound parameter.
 */
export async function listTenantFiles(db: Db, tenantId: string, filter: ListFilter): Promise<FileRecord[]> {
  const params: unknown[] = [tenantId];
  const where = ['"tenantId" = $1'];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  // Tombstones keep their row for the audit trail but are not files any more: listed only when asked for.
  if (filter.status) where.push(`"status" = ${bind(filter.status)}`);
  else where.push(`"status" <> 'DELETED'`);
  if (filter.batchId) where.push(`"batchId" = ${bind(filter.batchId)}`);
  if (filter.contentType) {
    if (filter.contentType.endsWith('/*')) {
      where.push(`"contentType" LIKE ${bind(`${filter.contentType.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`)}`);
    } else {
      where.push(`"contentType" = ${bind(filter.contentType)}`);
    }
  }
  if (filter.q) {
    // Whole words through the full-text index, or any part of the filename through the trigram index.
    const q = bind(filter.q);
    const infix = bind(`%${filter.q.replace(/[\\%_]/g, '\\$&')}%`);
    where.push(`("searchVector" @@ plainto_tsquery('simple', ${q}) OR "filename" ILIKE ${infix})`);
  }
  if (filter.tag) where.push(`${bind(filter.tag)} = ANY("tags")`);
  // As for the cursor: Prisma keeps UTC in "timestamp without time zone".
  if (filter.createdFrom) where.push(`"createdAt" >= ${bind(filter.createdFrom.toISOString())}::timestamp`);
  if (filter.createdBefore) where.push(`"createdAt" < ${bind(filter.createdBefore.toISOString())}::timestamp`);
  if (filter.cursor) {
    // Prisma stores UTC in "timestamp without time zone"; an ISO string cast to timestamp keeps it UTC.
    const createdAt = bind(filter.cursor.createdAt.toISOString());
    where.push(`("createdAt", "id") < (${createdAt}::timestamp, ${bind(filter.cursor.id)})`);
  }
  const sql = `SELECT ${COLUMNS.map((c) => `"${c}"`).join(', ')} FROM "File" WHERE ${where.join(' AND ')}
    ORDER BY "createdAt" DESC, "id" DESC LIMIT ${bind(filter.limit)}`;
  return db.$queryRawUnsafe<FileRecord[]>(sql, ...params);
}

/**
 * The files of these tenants whose row changed at or after `since`, oldest change first: what the one
 * event-stream poller per API process reads each second (api/file-events/file-feed.ts).
 */
export async function listFilesChangedSince(
  db: Db,
  tenantIds: string[],
  since: Date,
  limit: number,
): Promise<FileRecord[]> {
  return db.file.findMany({
    where: { tenantId: { in: tenantIds }, updatedAt: { gte: since } },
    orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
    take: limit,
    select: SELECT,
  });
}

/** The most recent files of these tenants still processing, whose steps only their workflows know. */
export async function listProcessingFiles(db: Db, tenantIds: string[], limit: number): Promise<FileRecord[]> {
  return db.file.findMany({
    where: { tenantId: { in: tenantIds }, status: 'PROCESSING' },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
    select: SELECT,
  });
}
