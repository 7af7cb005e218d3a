import type { FileRecord } from '../../prisma/file-records';
import { ApiError } from '../errors';
import { ID_PARAM_PATTERN } from '../upload-fields';

/** Where a page of files ends: the keyset (createdAt, id) the next page starts below. */
export interface FileCursor {
  createdAt: Date;
  id: string;
}

/** The opaque nextCursor of a page that ends at `row`. */
export function encodeFileCursor(row: Pick<FileRecord, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

/**
 * Cursors are opaque to clients but not trusted: anything encodeFileCursor could not have produced (a
 * year Postgres cannot store, an id with a NUL byte) is a 400 here instead of a failing query.
 */
export function decodeFileCursor(cursor: string): FileCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2) throw new Error('bad cursor');
    const [createdAt, id] = decoded as unknown[];
    if (typeof createdAt !== 'string' || typeof id !== 'string' || !ID_PARAM_PATTERN.test(id)) {
      throw new Error('bad cursor');
    }
    const date = new Date(createdAt);
    // Exactly what toISOString wrote for a row: four-digit years since 1970, nothing Postgres refuses.
    if (!/^\d{4}-/.test(createdAt) || date.getTime() < 0 || date.toISOString() !== createdAt) {
      throw new Error('bad cursor');
    }
    return { createdAt: date, id };
  } catch {
    throw new ApiError('invalid_request', 'cursor: not a cursor returned by this API');
  }
}
