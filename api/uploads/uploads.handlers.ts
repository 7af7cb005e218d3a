import { parseSchemaName } from '../../services/upload-schema';
import type { FileStatus } from '../../common/domain';
import { completeDirectUpload, startDirectUpload } from '../../services/direct-upload';
import { uploadDeps } from '../dependencies';
import { fileLinks } from '../file-view';
import { normaliseContentType, tooLarge } from '../receive-upload';
import type { AppRouteHandler } from '../types';
import { parseHttpUrl, parseRetention, parseTags, sanitizeFilename } from '../upload-fields';
import type * as routes from './uploads.routes';

const serviceDeps = uploadDeps;

export const createUpload: AppRouteHandler<routes.CreateUploadRoute> = async (c) => {
  const { config } = c.var;
  const body = c.req.valid('json');
  if (body.size > config.limits.maxUploadBytes) throw tooLarge(config.limits.maxUploadBytes);
  const request = {
    tenantId: c.var.tenantId,
    filename: sanitizeFilename(body.filename),
    size: body.size,
    contentType: normaliseContentType(body.contentType),
    sha256: body.sha256?.toLowerCase() ?? null,
    callbackUrl: parseHttpUrl(body.callbackUrl, 'callbackUrl', config.webhooks),
    retentionMs: parseRetention(body.retention, config.retention),
    tags: parseTags(body.tags === undefined ? [] : Array.isArray(body.tags) ? body.tags : [body.tags]),
    schemaName: parseSchemaName(body.schema),
  };
  const { upload, plan } = await startDirectUpload(serviceDeps(c), request);
  c.var.log.info(
    { uploadId: upload.id, fileId: upload.fileId, size: body.size, plan: plan.kind },
    'direct upload started',
  );
  const common = {
    id: upload.id,
    fileId: upload.fileId,
    completeUrl: `${config.publicUrl}/v1/uploads/${upload.id}/complete`,
    expiresAt: upload.expiresAt.toISOString(),
  };
  c.header('Cache-Control', 'no-store');
  if (plan.kind === 'single') {
    return c.json({ ...common, method: 'PUT' as const, url: plan.put.url, headers: plan.put.headers }, 201);
  }
  return c.json(
    {
      ...common,
      method: 'MULTIPART' as const,
      partSize: plan.partSize,
      parts: plan.parts.map((part) => ({
        partNumber: part.partNumber,
        size: part.size,
        method: 'PUT' as const,
        url: part.url,
        headers: part.headers,
      })),
    },
    201,
  );
};

export const completeUpload: AppRouteHandler<routes.CompleteUploadRoute> = async (c) => {
  const { id } = c.req.valid('param');
  // The body is optional (a single PUT has nothing to add); the validator only runs on a JSON one.
  const parts = (c.req.header('content-type') ?? '').includes('json') ? c.req.valid('json').parts : undefined;
  const { row, replayed } = await completeDirectUpload(serviceDeps(c), { tenantId: c.var.tenantId, id, parts });
  if (replayed) c.header('Idempotent-Replayed', 'true');
  else c.var.metrics?.uploadAccepted(row.tenantId, 'presigned', Number(row.size));
  c.header('Location', `/v1/files/${row.id}`);
  return c.json(
    {
      id: row.id,
      status: row.status as FileStatus,
      workflowId: row.workflowId,
      links: fileLinks(c.var.config, row.id, row.workflowId),
    },
    202,
  );
};
