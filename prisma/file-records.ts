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
  /** Where the previous page ended; with `q`, its rank too (required then: pages are ordered by it). */
  cursor?: { createdAt: Date; id: string; rank?: number };
}

/** A listed row; with `q`, its rank (0 up, higher first), which the next page's cursor carries. */
export type ListedFile = FileRecord & { rank?: number };

/**
 * How well a row matches `q`, as an integer so a cursor carries it exactly: 1000 × (ts_rank of the
 * full-text match, where a filename word weighs 1, a tag 0.4 and a content word 0.1, plus pg_trgm's
 * strict_word_similarity of `q` to the filename's closest whole words: 1 for the word itself, less
 * the more of that word `q` leaves out, so a prefix beats the middle of a longer word). For "flower":
 * flower.jpg ~1608, flowers-in-may.jpg 750, sunflower-field.jpg 417, wildflowers.png 267, a file
 * tagged flower 243, one whose text says it 61. Equal ranks keep newest first.
 *
 * The two halves are apart because their costs are: ts_rank is under a microsecond a match, while
 * strict_word_similarity builds the trigrams of q and of the filename at every call (5–8 µs, most of
 * the time of a ranked page at a million rows). `textRank` is the ts_rank half; `rankOf(alias)` adds
 * the name half to a row of `matched` (listTenantFiles).
 */
const textRankOf = (q: string) => `ts_rank(coalesce("searchVector", ''::tsvector), plainto_tsquery('simple', ${q}))`;
const rankOf = (q: string, row: string) =>
  `round(1000 * (${row}."textRank" + strict_word_similarity(${q}, ${row}."filename")))::int`;
/** No row ranks above this: strict_word_similarity is at most 1 (float4 addition is monotone). */
const rankBoundOf = (row: string) => `round(1000 * (${row}."textRank" + 1::real))::int`;

/**
 * The tenant's files, newest first, keyset-paginated on (createdAt, id) so pages stay stable while
 * uploads arrive. `q` runs over the full-text index the index activity writes and matches any part of the
 * filename (pg_trgm index); its results come best match first, keyset-paginated on (rank, createdAt, id).
 * Tombstones are left out unless `status` is DELETED. Raw SQL because Prisma cannot query tsvector
 * columns; every value is a bound parameter.
 *
 * A ranked page computes the name half of the rank only where it can change the page. Every match gets
 * its cheap `textRank` (`matched`); the `limit` matches of highest textRank past the cursor get their
 * exact rank (`probe`), so at least `limit` rows rank at or above the lowest of those (`floor`), and
 * no row whose bound (textRank + 1) is below it can be on the page. Only the rest get the exact rank,
 * ordered as before. The page is the same as ranking every match (the filter drops only rows that
 * `limit` others beat); for `q=invoice`, 1,014 of 12,325 matches are ranked instead of all.
 */
export async function listTenantFiles(db: Db, tenantId: string, filter: ListFilter): Promise<ListedFile[]> {
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
  let q: string | undefined;
  if (filter.q) {
    // Whole words through the full-text index, or any part of the filename through the trigram index.
    q = bind(filter.q);
    const infix = bind(`%${filter.q.replace(/[\\%_]/g, '\\$&')}%`);
    where.push(`("searchVector" @@ plainto_tsquery('simple', ${q}) OR "filename" ILIKE ${infix})`);
  }
  // Containment rather than `= ANY`: the same rows, and the form the GIN index on tags can answer.
  if (filter.tag) where.push(`"tags" @> ARRAY[${bind(filter.tag)}]::text[]`);
  // As for the cursor: Prisma keeps UTC in "timestamp without time zone".
  if (filter.createdFrom) where.push(`"createdAt" >= ${bind(filter.createdFrom.toISOString())}::timestamp`);
  if (filter.createdBefore) where.push(`"createdAt" < ${bind(filter.createdBefore.toISOString())}::timestamp`);
  // Prisma stores UTC in "timestamp without time zone"; an ISO string cast to timestamp keeps it UTC.
  const keyset = filter.cursor
    ? `${bind(filter.cursor.createdAt.toISOString())}::timestamp, ${bind(filter.cursor.id)}`
    : undefined;
  if (!q) {
    const columns = COLUMNS.map((c) => `"${c}"`).join(', ');
    const after = keyset ? `AND ("createdAt", "id") < (${keyset})` : '';
    return db.$queryRawUnsafe<ListedFile[]>(
      `SELECT ${columns} FROM "File" WHERE ${where.join(' AND ')} ${after}
        ORDER BY "createdAt" DESC, "id" DESC LIMIT ${bind(filter.limit)}`,
      ...params,
    );
  }
  const before = keyset ? `(${bind(filter.cursor?.rank ?? 0)}::int, ${keyset})` : undefined;
  const limit = bind(filter.limit);
  const columns = COLUMNS.map((c) => `f."${c}"`).join(', ');
  // Each OFFSET 0 keeps a subquery from being merged into the query around it: the cursor's filter
  // stays above the probe's sort, so the probe ranks rows only until it has enough, and it reads the
  // rank its subquery computed once instead of computing strict_word_similarity again.
  const sql = `
    WITH matched AS MATERIALIZED (
      SELECT "id", "createdAt", "filename", ${textRankOf(q)} AS "textRank" FROM "File" WHERE ${where.join(' AND ')}
    ), probe AS (
      SELECT "rank" FROM (
        SELECT o."id", o."createdAt", ${rankOf(q, 'o')} AS "rank"
          FROM (SELECT * FROM matched ORDER BY "textRank" DESC OFFSET 0) AS o OFFSET 0
      ) AS r
      ${before ? `WHERE ("rank", "createdAt", "id") < ${before}` : ''}
      LIMIT ${limit}
    ), page AS (
      SELECT * FROM (
        SELECT m."id", m."createdAt", ${rankOf(q, 'm')} AS "rank" FROM matched AS m
         WHERE ${rankBoundOf('m')} >= (SELECT coalesce(min("rank"), 0) FROM probe) OFFSET 0
      ) AS ranked
      ${before ? `WHERE ("rank", "createdAt", "id") < ${before}` : ''}
      ORDER BY "rank" DESC, "createdAt" DESC, "id" DESC LIMIT ${limit}
    )
    SELECT ${columns}, p."rank" FROM page AS p JOIN "File" AS f ON f."id" = p."id"
     ORDER BY p."rank" DESC, p."createdAt" DESC, p."id" DESC`;
  return db.$queryRawUnsafe<ListedFile[]>(sql, ...params);
}

/**
 * The files of these tenants whose row changed at or after `since`, oldest change first: a resumed
 * event stream's catch-up (api/file-events/file-feed.ts).
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

/**
 * The files of these tenants changed after `after` in (updatedAt, id) order, oldest first: one page of
 * the event feed's re-check, resumable from its last row however many rows share a timestamp.
 */
export async function listFilesChangedAfter(
  db: Db,
  tenantIds: string[],
  after: { updatedAt: Date; id: string },
  limit: number,
): Promise<FileRecord[]> {
  return db.file.findMany({
    where: {
      tenantId: { in: tenantIds },
      OR: [{ updatedAt: { gt: after.updatedAt } }, { updatedAt: after.updatedAt, id: { gt: after.id } }],
    },
    orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
    take: limit,
    select: SELECT,
  });
}

/** The rows of these files, where they belong to one of these tenants: a batch of change notifications. */
export async function listFilesByIds(db: Db, tenantIds: string[], ids: string[]): Promise<FileRecord[]> {
  return db.file.findMany({
    where: { tenantId: { in: tenantIds }, id: { in: ids } },
    orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
    select: SELECT,
  });
}
