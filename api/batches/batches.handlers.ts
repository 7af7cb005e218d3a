import { batchSchemaName } from '../../services/upload-schema';
import type { Context } from 'hono';
import type { BatchStatus, FileStatus } from '../../common/domain';
import { derivedBatchId } from '../../lib/ids';
import { countBatchFiles, findTenantBatch } from '../../prisma/batches';
import type { Batch } from '../../prisma/db';
import { listTenantFiles } from '../../prisma/file-records';
import { acceptBatch } from '../../services/accept-batch';
import type { UploadOptions } from '../../services/accept-upload';
import { uploadDeps, withDb } from '../dependencies';
import { ApiError } from '../errors';
import { toFileView } from '../file-view';
import { receiveBatch } from '../receive-batch';
import type { AppEnv, AppRouteHandler } from '../types';
import { parseHttpUrl, parseRetention, parseTags, sanitizeFilename } from '../upload-fields';
import { decodeFileCursor, encodeFileCursor } from '../files/file-cursor';
import type * as routes from './batches.routes';

function batchLinks(c: Context<AppEnv>, batch: Pick<Batch, 'id'>) {
  const base = c.var.config.publicUrl;
  return { self: `${base}/v1/batches/${batch.id}`, files: `${base}/v1/files?batch=${batch.id}` };
}

export const createBatch: AppRouteHandler<routes.CreateBatchRoute> = async (c) => {
  const { config } = c.var;
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'multipart/form-data') {
    throw new ApiError('unsupported_media_type', 'A batch is multipart/form-data with one "file" part per file');
  }
  const querySchema = c.req.valid('query').schema;
  const readOptions = (fields: Record<string, string[]>): UploadOptions => ({
    callbackUrl: parseHttpUrl(fields.callbackUrl?.[0], 'callbackUrl', config.webhooks),
    retentionMs: parseRetention(fields.retention?.[0], config.retention),
    tags: parseTags(fields.tags ?? []),
    schemaName: batchSchemaName(fields.schema?.[0], querySchema),
  });
  const { batch, files, replayed, acceptedBytes } = await acceptBatch(uploadDeps(c), {
    tenantId: c.var.tenantId,
    idempotencyKey: c.req.valid('header')['idempotency-key'] ?? null,
    useLog: (log) => c.set('log', log),
    receive: (target) => receiveBatch(c.req.raw, target),
    readOptions,
    sanitizeFilename,
  });
  if (replayed) c.header('Idempotent-Replayed', 'true');
  // Every part counts, a refused one too: it is a file, REJECTED, as a rejected POST /v1/files is.
  else c.var.metrics?.uploadAccepted(c.var.tenantId, 'batch', acceptedBytes, files.length);
  c.header('Location', `/v1/batches/${batch.id}`);
  return c.json({ id: batch.id, status: batch.status as BatchStatus, files, links: batchLinks(c, batch) }, 202);
};

export const getBatch: AppRouteHandler<routes.GetBatchRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const query = c.req.valid('query');
  // A Kafka batch is also found by the producer's own intake-batch-id.
  const batch = await withDb(
    c,
    async (db) =>
      (await findTenantBatch(db, c.var.tenantId, id)) ??
      findTenantBatch(db, c.var.tenantId, derivedBatchId(c.var.tenantId, id)),
  );
  if (!batch) throw new ApiError('batch_not_found', `No batch ${id}`);
  const cursor = query.cursor ? decodeFileCursor(query.cursor) : undefined;
  const [counts, rows] = await withDb(c, (db) =>
    Promise.all([
      countBatchFiles(db, batch.id),
      listTenantFiles(db, c.var.tenantId, { batchId: batch.id, limit: query.limit + 1, cursor }),
    ]),
  );
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return c.json(
    {
      id: batch.id,
      status: batch.status as BatchStatus,
      fileCount: batch.fileCount,
      // Once DONE, the counts batch.completed announced: they include a Kafka batch's refused messages.
      counts: (batch.status === 'DONE' && batch.counts ? batch.counts : counts) as Record<FileStatus, number>,
      createdAt: batch.createdAt.toISOString(),
      completedAt: batch.completedAt ? batch.completedAt.toISOString() : null,
      files: page.map((row) => toFileView(c.var.config, row)),
      nextCursor: rows.length > query.limit && last ? encodeFileCursor(last) : null,
      links: batchLinks(c, batch),
    },
    200,
  );
};
