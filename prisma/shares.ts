import type { FileStatus } from '../common/domain';
import type { DbClient, ShareLink } from './db';

/**
 * The ShareLink table's repository. A link serves only while all of these hold at the moment of the
 * download: not revoked, not expired, downloads left, and its file READY. countDownload checks them
 * all in one UPDATE, so neither a race between two downloads nor one with a deletion can slip through.
 */

export type ShareLinkRecord = ShareLink;

export interface NewShareLink {
  id: string;
  tenantId: string;
  fileId: string;
  tokenHash: string;
  rendition: string | null;
  maxDownloads: number | null;
  expiresAt: Date;
}

export async function createShareLink(db: DbClient, link: NewShareLink): Promise<ShareLinkRecord> {
  return db.shareLink.create({ data: link });
}

/** The file's links, newest first (revoked and expired ones included: they say what happened). */
export async function listShareLinks(db: DbClient, tenantId: string, fileId: string): Promise<ShareLinkRecord[]> {
  return db.shareLink.findMany({
    where: { tenantId, fileId },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: 1000,
  });
}

export async function findShareLink(
  db: DbClient,
  tenantId: string,
  fileId: string,
  id: string,
): Promise<ShareLinkRecord | null> {
  return db.shareLink.findFirst({ where: { id, tenantId, fileId } });
}

export async function findShareLinkByTokenHash(db: DbClient, tokenHash: string): Promise<ShareLinkRecord | null> {
  return db.shareLink.findUnique({ where: { tokenHash } });
}

/** Revokes one link; a link revoked before keeps its first revocation. */
export async function revokeShareLink(db: DbClient, id: string, reason: string): Promise<void> {
  await db.shareLink.updateMany({
    where: { id, revokedAt: null },
    data: { revokedAt: new Date(), revokedReason: reason },
  });
}

/** Revokes every link to the file (its deletion): returns how many were still live. */
export async function revokeFileShareLinks(db: DbClient, fileId: string, reason: string): Promise<number> {
  const { count } = await db.shareLink.updateMany({
    where: { fileId, revokedAt: null },
    data: { revokedAt: new Date(), revokedReason: reason },
  });
  return count;
}

/**
 * Counts one download (expiresAt is stored as UTC without a zone, hence the comparison in UTC) if the link may still serve: one conditional UPDATE, so of two concurrent downloads
 * of a link with one download left exactly one is counted. False when the link is used up, expired,
 * revoked, or its file is no longer READY.
 */
export async function countDownload(db: DbClient, id: string): Promise<boolean> {
  const ready: FileStatus = 'READY';
  const changed = await db.$executeRaw`
    UPDATE "ShareLink" AS s
       SET "downloads" = s."downloads" + 1
     WHERE s."id" = ${id}
       AND s."revokedAt" IS NULL
       AND s."expiresAt" > (now() AT TIME ZONE 'UTC')
       AND (s."maxDownloads" IS NULL OR s."downloads" < s."maxDownloads")
       AND EXISTS (SELECT 1 FROM "File" f WHERE f."id" = s."fileId" AND f."status" = ${ready})`;
  return changed === 1;
}
