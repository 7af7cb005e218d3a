import { formatDuration, parseDuration } from '../../common/durations';
import { newShareId } from '../../lib/ids';
import { storageKeys } from '../../lib/storage-keys';
import { SHARE_TOKEN_PATTERN, hashShareToken, newShareToken } from '../../lib/share-tokens';
import { findTenantFile } from '../../prisma/file-records';
import {
  countDownload,
  createShareLink,
  findShareLink,
  findShareLinkByTokenHash,
  listShareLinks,
  revokeShareLink,
  type ShareLinkRecord,
} from '../../prisma/shares';
import { withDb } from '../dependencies';
import { ApiError } from '../errors';
import { toFileView } from '../file-view';
import { loadFile, originalKeyOf, renditionFilename } from '../files/file-lookup';
import { serveObject } from '../serve-object';
import type { AppRouteHandler } from '../types';
import type * as routes from './shares.routes';

type ShareStatus = 'active' | 'expired' | 'used_up' | 'revoked';

function statusOf(link: ShareLinkRecord, now = Date.now()): ShareStatus {
  if (link.revokedAt) return 'revoked';
  if (link.expiresAt.getTime() <= now) return 'expired';
  if (link.maxDownloads !== null && link.downloads >= link.maxDownloads) return 'used_up';
  return 'active';
}

function toShareView(link: ShareLinkRecord) {
  return {
    id: link.id,
    fileId: link.fileId,
    rendition: link.rendition,
    expiresAt: link.expiresAt.toISOString(),
    maxDownloads: link.maxDownloads,
    downloads: link.downloads,
    status: statusOf(link),
    revokedAt: link.revokedAt?.toISOString() ?? null,
    revokedReason: link.revokedReason,
    createdAt: link.createdAt.toISOString(),
  };
}

const GONE_BECAUSE: Record<Exclude<ShareStatus, 'active'>, string> = {
  revoked: 'This share link was revoked',
  expired: 'This share link has expired',
  used_up: 'This share link has no downloads left',
};

export const createShare: AppRouteHandler<routes.CreateShareRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const body = c.req.valid('json');
  const { config } = c.var;
  const row = await loadFile(c, id);
  if (row.status !== 'READY') {
    throw new ApiError('file_not_shareable', `Only READY files can be shared; file ${id} is ${row.status}`);
  }
  if (body.rendition !== undefined) {
    const known = toFileView(config, row).renditions.some((rendition) => rendition.name === body.rendition);
    if (!known) throw new ApiError('rendition_not_found', `File ${id} has no rendition "${body.rendition}"`);
  }
  const expiresInMs = parseDuration(body.expiresIn);
  if (expiresInMs < 1_000 || expiresInMs > config.shares.maxExpiryMs) {
    throw new ApiError(
      'invalid_request',
      `expiresIn: must lie between 1s and ${formatDuration(config.shares.maxExpiryMs)} (INTAKE_SHARE_MAX_EXPIRY)`,
    );
  }
  const { token, tokenHash } = newShareToken();
  const link = await withDb(c, (db) =>
    createShareLink(db, {
      id: newShareId(),
      tenantId: c.var.tenantId,
      fileId: row.id,
      tokenHash,
      rendition: body.rendition ?? null,
      maxDownloads: body.maxDownloads ?? null,
      expiresAt: new Date(Date.now() + expiresInMs),
    }),
  );
  c.var.log.info({ shareId: link.id, rendition: link.rendition, expiresAt: link.expiresAt }, 'share link created');
  // The token appears in this answer only: never in a log line, never in a later listing.
  return c.json({ ...toShareView(link), url: `${config.publicUrl}/s/${token}` }, 201);
};

export const listShares: AppRouteHandler<routes.ListSharesRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const row = await loadFile(c, id);
  const links = await withDb(c, (db) => listShareLinks(db, c.var.tenantId, row.id));
  return c.json({ items: links.map(toShareView) }, 200);
};

export const revokeShare: AppRouteHandler<routes.RevokeShareRoute> = async (c) => {
  const { id, shareId } = c.req.valid('param');
  const row = await loadFile(c, id);
  const link = await withDb(c, (db) => findShareLink(db, c.var.tenantId, row.id, shareId));
  if (!link) throw new ApiError('share_not_found', `File ${id} has no share link ${shareId}`);
  await withDb(c, (db) => revokeShareLink(db, link.id, 'requested'));
  c.var.log.info({ shareId }, 'share link revoked');
  return c.body(null, 204);
};

export const useShare: AppRouteHandler<routes.UseShareRoute> = async (c) => {
  const { token } = c.req.valid('param');
  const notFound = new ApiError('share_not_found', 'No such share link');
  if (!SHARE_TOKEN_PATTERN.test(token)) throw notFound;
  const link = await withDb(c, (db) => findShareLinkByTokenHash(db, hashShareToken(token)));
  if (!link) throw notFound;
  c.set('log', c.var.log.child({ shareId: link.id, fileId: link.fileId, tenant: link.tenantId }));
  const status = statusOf(link);
  if (status !== 'active') throw new ApiError('share_gone', GONE_BECAUSE[status]);
  const row = await withDb(c, (db) => findTenantFile(db, link.tenantId, link.fileId));
  // A deleted file never serves, even in the moment before its deletion revokes the link.
  if (row?.status !== 'READY') throw new ApiError('share_gone', 'The shared file is no longer available');

  const rendition = link.rendition
    ? toFileView(c.var.config, row).renditions.find((candidate) => candidate.name === link.rendition)
    : undefined;
  if (link.rendition && !rendition) throw new ApiError('share_gone', 'The shared rendition is no longer available');
  const response = await serveObject(c, {
    ...(rendition
      ? {
          key: storageKeys.rendition(row.tenantId, row.id, rendition.name, rendition.format),
          contentType: `image/${rendition.format}`,
          filename: renditionFilename(row.filename, rendition.name, rendition.format),
        }
      : {
          key: originalKeyOf(row),
          contentType: row.contentType ?? 'application/octet-stream',
          filename: row.filename,
        }),
    redirect: false,
    disposition: 'attachment',
    // Counted only once S3 has the bytes ready, and in one UPDATE that also checks every rule again.
    beforeSending: async () => {
      if (!(await withDb(c, (db) => countDownload(db, link.id)))) {
        throw new ApiError('share_gone', 'This share link has no downloads left');
      }
    },
  });
  // The token is in the URL: a page that links onward must not hand it on.
  response.headers.set('Referrer-Policy', 'no-referrer');
  return response;
};
