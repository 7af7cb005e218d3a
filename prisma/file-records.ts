import type { Db } from './db';
import type { FileStatus } from '../common/domain';

/** The File columns the API reads (everything but the search vector). */
export interface FileRecord {
  id: string;
  tenantId: string;
  workflowId: string;
  filename: string;
  declaredContentType: string | null;
  contentType: string | null;
  size: bigint | number;
  sha256: string | null;
  status: string;
  reason: string | null;
  width: number | null;
  height: number | null;
  tags: string[];
  renditions: unknown;
  steps: unknown;
  storageKey: string | null;
  quarantineKey: string | null;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  expiresAt: Date | null;
  hold: boolean;
  deletedAt: Date | null;
  deletionReason: string | null;
}

const COLUMNS = [
  'id',
  'tenantId',
  'workflowId',
  'filename',
  'declaredContentType',
  'contentType',
  'size',
  'sha256',
  'status',
  'reason',
  'width',
  'height',
  'tags',
  'renditions',
  'steps',
  'storageKey',
  'quarantineKey',
  'callbackUrl',
  'idempotencyKey',
  'createdAt',
  'updatedAt',
  'completedAt',
  'expiresAt',
  'hold',
  'deletedAt',
  'deletionReason',
] as const;
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

export interface NewFile {
  id: string;
  tenantId: string;
  workflowId: string;
  filename: string;
  declaredContentType: string | null;
  size: number;
  tags: string[];
  callbackUrl: string | null;
  idempotencyKey: string | null;
  storageKey: string;
  createdAt: Date;
}

export async function insertProcessingFile(db: Db, file: NewFile): Promise<FileRecord> {
  return db.file.create({
    data: { ...file, size: BigInt(file.size), status: 'PROCESSING' satisfies FileStatus },
    select: SELECT,
  });
}

export async function deleteFileRow(db: Db, id: string): Promise<void> {
  await db.file.deleteMany({ where: { id } });
}

/** Prisma's unique-constraint violation: the idempotency race was lost to a concurrent request. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}

export interface ListFilter {
  status?: FileStatus;
  contentType?: string;
  q?: string;
  limit: number;
  cursor?: { createdAt: Date; id: string };
}

/**
 * The tenant's files, newest first, keyset-paginated on (createdAt, id) so pages stay stable while
 * uploads arrive. `q` runs over the full-text index the index activity writes. Raw SQL because Prisma
 * cannot query tsvector columns; every value is a bound parameter.
 */
export async function listTenantFiles(db: Db, tenantId: string, filter: ListFilter): Promise<FileRecord[]> {
  const params: unknown[] = [tenantId];
  const where = ['"tenantId" = $1'];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.status) where.push(`"status" = ${bind(filter.status)}`);
  if (filter.contentType) {
    if (filter.contentType.endsWith('/*')) {
      where.push(`"contentType" LIKE ${bind(`${filter.contentType.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`)}`);
    } else {
      where.push(`"contentType" = ${bind(filter.contentType)}`);
    }
  }
  if (filter.q) where.push(`"searchVector" @@ plainto_tsquery('simple', ${bind(filter.q)})`);
  if (filter.cursor) {
    // Prisma stores UTC in "timestamp without time zone"; an ISO string cast to timestamp keeps it UTC.
    const createdAt = bind(filter.cursor.createdAt.toISOString());
    where.push(`("createdAt", "id") < (${createdAt}::timestamp, ${bind(filter.cursor.id)})`);
  }
  const sql = `SELECT ${COLUMNS.map((c) => `"${c}"`).join(', ')} FROM "File" WHERE ${where.join(' AND ')}
    ORDER BY "createdAt" DESC, "id" DESC LIMIT ${bind(filter.limit)}`;
  return db.$queryRawUnsafe<FileRecord[]>(sql, ...params);
}
