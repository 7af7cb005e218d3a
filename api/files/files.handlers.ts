import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Context } from 'hono';
import { parseDuration } from '../../common/durations';
import type { FileStatus, RetentionChange } from '../../common/domain';
import { FailureTypes, isFailureOfType, retryAfterMsOf } from '../../common/failures';
import { deleteSignal, retentionUpdate } from '../../common/messages';
import { storageKeys } from '../../lib/storage-keys';
import { listTenantFiles, type FileRecord } from '../../prisma/file-records';
import { acceptUpload, type UploadOptions } from '../../services/accept-upload';
import { parseSchemaName } from '../../services/upload-schema';
import { uploadDeps, withDb, withTemporal } from '../dependencies';
import { ApiError } from '../errors';
import { fileLinks, toFileView } from '../file-view';
import { receiveMultipartUpload, receiveRawUpload } from '../receive-upload';
import { IMMUTABLE_PRIVATE, dispositionFor, serveObject } from '../serve-object';
import type { AppEnv, AppRouteHandler } from '../types';
import { parseHttpUrl, parseRetention, parseTags, sanitizeFilename } from '../upload-fields';
import { decodeFileCursor, encodeFileCursor } from './file-cursor';
import { assertServable, isOnHold, loadFile, originalKeyOf, renditionFilename } from './file-lookup';
import type * as routes from './files.routes';
import { describeFileWhenSettled, waitMsOf } from './long-poll';

const UPDATE_TIMEOUT_MS = 10_000;
/**
 * gRPC FAILED_PRECONDITION: Temporal refuses an update while the workflow's last task failed or timed
 * out, e.g. when no worker has answered for a while. The change is fine; it cannot be applied yet.
 */
const GRPC_FAILED_PRECONDITION = 9;

function uploadAccepted(c: Context<AppEnv>, row: Pick<FileRecord, 'id' | 'workflowId' | 'status'>) {
  c.header('Location', `/v1/files/${row.id}`);
  return {
    id: row.id,
    status: row.status as FileStatus,
    workflowId: row.workflowId,
    links: fileLinks(c.var.config, row.id, row.workflowId),
  };
}

const firstValue = (values: string[] | undefined) => values?.[0];
const asList = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const wantsRedirect = (value: string | undefined) => value === '1' || value === 'true';

/** A body's declared length, when it gives one (a chunked body does not). */
function contentLength(header: string | undefined): number | null {
  return header !== undefined && /^\d{1,15}$/.test(header) ? Number(header) : null;
}

export const uploadFile: AppRouteHandler<routes.UploadFileRoute> = async (c) => {
  const { config } = c.var;
  const query = c.req.valid('query');
  const multipart = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === 'multipart/form-data';

  // Options in the query are validated before any byte is stored; multipart fields after the body.
  const readOptions = (fields: Record<string, string[]>): UploadOptions => ({
    callbackUrl: parseHttpUrl(firstValue(fields.callbackUrl) ?? query.callbackUrl, 'callbackUrl', config.webhooks),
    retentionMs: parseRetention(firstValue(fields.retention) ?? query.retention, config.retention),
    tags: parseTags([...(fields.tags ?? []), ...asList(query.tags)]),
    schemaName: parseSchemaName(firstValue(fields.schema) ?? query.schema),
  });

  const { row, replayed } = await acceptUpload(uploadDeps(c), {
    expectedBytes: contentLength(c.req.header('content-length')),
    tenantId: c.var.tenantId,
    idempotencyKey: c.req.valid('header')['idempotency-key'] ?? null,
    fallbackFilename: query.filename,
    checkBeforeReceiving: () => {
      if (multipart) return;
      if (!query.filename) {
        throw new ApiError('invalid_request', 'filename: required as a query parameter for a raw upload');
      }
      readOptions({});
    },
    useLog: (log) => c.set('log', log),
    receive: (target) => (multipart ? receiveMultipartUpload(c.req.raw, target) : receiveRawUpload(c.req.raw, target)),
    readOptions,
    sanitizeFilename,
  });
  if (replayed) c.header('Idempotent-Replayed', 'true');
  else c.var.metrics?.uploadAccepted(row.tenantId, 'http', Number(row.size));
  return c.json(uploadAccepted(c, row), 202);
};

/** A date filter as an instant Postgres can compare: the format passed zod, but 2026-02-31 or year 0 did too. */
function instantOf(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime()) || instant.getUTCFullYear() < 1 || instant.getUTCFullYear() > 9999) {
    throw new ApiError('invalid_request', `${name}: not a date and time that exists`);
  }
  return instant;
}

export const listFiles: AppRouteHandler<routes.ListFilesRoute> = async (c) => {
  const query = c.req.valid('query');
  const q = query.q?.trim() || undefined;
  const rows = await withDb(c, (db) =>
    listTenantFiles(db, c.var.tenantId, {
      status: query.status,
      contentType: query.contentType,
      q,
      batchId: query.batch,
      tag: query.tag,
      createdFrom: instantOf(query.createdFrom, 'createdFrom'),
      createdBefore: instantOf(query.createdBefore, 'createdBefore'),
      limit: query.limit + 1,
      cursor: query.cursor ? decodeFileCursor(query.cursor, { ranked: q !== undefined }) : undefined,
    }),
  );
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return c.json(
    {
      items: page.map((row) => toFileView(c.var.config, row)),
      nextCursor: rows.length > query.limit && last ? encodeFileCursor(last) : null,
    },
    200,
  );
};

export const getFile: AppRouteHandler<routes.GetFileRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const { wait } = c.req.valid('query');
  return c.json(await describeFileWhenSettled(c, id, waitMsOf(wait)), 200);
};

export const downloadContent: AppRouteHandler<routes.DownloadContentRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const row = await loadFile(c, id);
  assertServable(row);
  const query = c.req.valid('query');
  const contentType = row.contentType ?? 'application/octet-stream';
  return serveObject(c, {
    key: originalKeyOf(row),
    contentType,
    filename: row.filename,
    redirect: wantsRedirect(query.redirect),
    disposition: dispositionFor(contentType, query.disposition),
  });
};

export const downloadRendition: AppRouteHandler<routes.DownloadRenditionRoute> = async (c) => {
  const { id, name } = c.req.valid('param');
  const row = await loadFile(c, id);
  assertServable(row);
  const rendition = toFileView(c.var.config, row).renditions.find((candidate) => candidate.name === name);
  if (!rendition) throw new ApiError('rendition_not_found', `File ${id} has no rendition "${name}"`);
  const query = c.req.valid('query');
  const contentType = `image/${rendition.format}`;
  return serveObject(c, {
    key: storageKeys.rendition(row.tenantId, row.id, name, rendition.format),
    contentType,
    filename: renditionFilename(row.filename, name, rendition.format),
    redirect: wantsRedirect(query.redirect),
    disposition: dispositionFor(contentType, query.disposition),
    cacheControl: IMMUTABLE_PRIVATE,
  });
};

export const deleteFile: AppRouteHandler<routes.DeleteFileRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const row = await loadFile(c, id);
  if (row.status === 'DELETED') throw new ApiError('file_deleted', `File ${id} is already deleted`);
  if (await isOnHold(c, row)) {
    throw new ApiError('file_on_hold', `File ${id} is on legal hold; release the hold before deleting it`);
  }
  try {
    await withTemporal(c, (client) =>
      client.workflow.getHandle(row.workflowId).signal(deleteSignal, { reason: 'requested' }),
    );
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new ApiError('file_deleted', `File ${id} is already deleted`);
    throw error;
  }
  c.var.log.info('deletion requested');
  return c.json(
    { id, deletionRequested: true as const, links: { self: fileLinks(c.var.config, id, row.workflowId).self } },
    202,
  );
};

export const changeRetention: AppRouteHandler<routes.ChangeRetentionRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const body = c.req.valid('json');
  const row = await loadFile(c, id);
  if (row.status === 'DELETED') throw new ApiError('file_deleted', `File ${id} is deleted`);
  const change: RetentionChange = {};
  if (body.expiresAt !== undefined) change.expiresAt = new Date(body.expiresAt).toISOString();
  if (body.extendBy !== undefined) change.extendByMs = parseDuration(body.extendBy);
  if (body.hold !== undefined) change.hold = body.hold;
  try {
    const result = await withTemporal(
      c,
      (client) => client.workflow.getHandle(row.workflowId).executeUpdate(retentionUpdate, { args: [change] }),
      UPDATE_TIMEOUT_MS,
    );
    c.var.log.info({ change, result }, 'retention changed');
    return c.json(result, 200);
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const { cause } = error;
      if (isFailureOfType(cause, FailureTypes.RateLimited)) {
        const seconds = Math.max(1, Math.ceil((retryAfterMsOf(cause) ?? 60_000) / 1000));
        throw new ApiError('rate_limited', cause.message, { 'Retry-After': String(seconds) });
      }
      throw new ApiError('invalid_retention', cause?.message ?? error.message);
    }
    if (error instanceof WorkflowNotFoundError) throw new ApiError('file_deleted', `File ${id} is deleted`);
    if (
      error instanceof ServiceError &&
      (error.cause as { code?: unknown } | undefined)?.code === GRPC_FAILED_PRECONDITION
    ) {
      throw new ApiError(
        'dependency_unavailable',
        `The workflow of file ${id} cannot take the change right now (its worker is not answering); retry later`,
      );
    }
    throw error;
  }
};
