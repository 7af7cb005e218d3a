import type { FileRecord } from '../../prisma/file-records';
import { ApiError } from '../errors';
import { ID_PARAM_PATTERN } from '../upload-fields';

/**
 * Where a page of files ends: the keyset (createdAt, id) the next page starts below, and for a ranked
 * search (`q`) the rank in front of it, since those pages are ordered by (rank, createdAt, id).
 */
export interface FileCursor {
  createdAt: Date;
  id: string;
  rank?: number;
}

/** The largest rank a search can give (prisma/file-records.ts: two terms of at most 1, times 1000). */
const MAX_RANK = 1_000_000;

/** The opaque nextCursor of a page that ends at `row`; a ranked row's cursor carries its rank. */
export function encodeFileCursor(row: Pick<FileRecord, 'createdAt' | 'id'> & { rank?: number }): string {
  const keyset = [row.createdAt.toISOString(), row.id];
  return Buffer.from(JSON.stringify(row.rank === undefined ? keyset : [row.rank, ...keyset])).toString('base64url');
}

/**
 * Cursors are opaque to clients but not trusted: anything encodeFileCursor could not have produced (a
 * year Postgres cannot store, an id with a NUL byte) is a 400 here instead of a failing query. A ranked
 * search takes only a ranked cursor and a plain listing only a plain one: the other's keyset would
 * skip or repeat rows.
 */
export function decodeFileCursor(cursor: string, { ranked = false } = {}): FileCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== (ranked ? 3 : 2)) throw new Error('bad cursor');
    const [rank, createdAt, id] = (ranked ? decoded : [undefined, ...decoded]) as unknown[];
    if (typeof createdAt !== 'string' || typeof id !== 'string' || !ID_PARAM_PATTERN.test(id)) {
      throw new Error('bad cursor');
    }
    if (ranked && (!Number.isInteger(rank) || (rank as number) < 0 || (rank as number) > MAX_RANK)) {
      throw new Error('bad cursor');
    }
    const date = new Date(createdAt);
    // Exactly what toISOString wrote for a row: four-digit years since 1970, nothing Postgres refuses.
    if (!/^\d{4}-/.test(createdAt) || date.getTime() < 0 || date.toISOString() !== createdAt) {
      throw new Error('bad cursor');
    }
    return ranked ? { rank: rank as number, createdAt: date, id } : { createdAt: date, id };
  } catch {
    throw new ApiError('invalid_request', 'cursor: not a cursor returned by this API for this query');
  }
}
