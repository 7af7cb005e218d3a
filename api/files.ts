import { createRoute, z } from '@hono/zod-openapi';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Context } from 'hono';
import { DURATION_PATTERN, DURATION_WITH_UNIT_PATTERN, parseDuration } from '../common/durations';
import { storageKeys } from '../lib/storage-keys';
import { buildUploadInput, startUploadWorkflow } from '../lib/upload-input';
import { workflowIdFor } from '../common/task-queues';
import { FILE_STATUSES, type FileState, type RetentionChange } from '../common/domain';
import { deleteSignal, retentionUpdate, statusQuery } from '../common/messages';
import type { AppEnv } from './context';
import { createRouter } from './context';
import { callDependency, withDb, withTemporal } from './dependencies';
import { ApiError, errorResponses } from './errors';
import {
  deleteFileRow,
  findByIdempotencyKey,
  findTenantFile,
  insertProcessingFile,
  isUniqueViolation,
  listTenantFiles,
  type FileRecord,
} from './file-records';
import { FileSchema, fileLinks, toFileView, UploadAcceptedSchema, type FileView } from './file-view';
import { discardObject, receiveMultipartUpload, receiveRawUpload, type ReceivedUpload } from './receive-upload';
import { serveObject } from './serve-object';
import {
  ID_PARAM_PATTERN,
  newFileId,
  parseHttpUrl,
  parseRetention,
  parseTags,
  sanitizeFilename,
} from './upload-fields';

/** The longest a GET may long-poll, and how often it looks again meanwhile. */
const MAX_WAIT_MS = 60_000;
const POLL_INTERVAL_MS = 500;
/** A status query needs a worker; without one the file is still described from Postgres. */
const QUERY_TIMEOUT_MS = 3_000;
const UPDATE_TIMEOUT_MS = 10_000;
/**
 * gRPC FAILED_PRECONDITION: Temporal refuses an update while the workflow's last task failed or timed
 * out, e.g. when no worker has answered for a while. The change is fine; it cannot be applied yet.
 */
const GRPC_FAILED_PRECONDITION = 9;

const security = [{ bearerAuth: [] }];
const FileIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(ID_PARAM_PATTERN, 'not a file id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'f_3kq7w2mz5c4xv6b7n8p2r4t5' }),
});
const tagsParam = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .openapi({ description: 'Comma-separated or repeated', type: 'string' });
const UploadOptionsQuery = z.object({
  filename: z.string().max(4096).optional().openapi({ description: 'Required for a raw (non-multipart) upload' }),
  callbackUrl: z
    .string()
    .max(2048)
    .optional()
    .openapi({ description: 'http(s) URL to notify of the outcome (signed)' }),
  retention: z
    .string()
    .max(32)
    .optional()
    .openapi({ description: 'How long to keep the file, e.g. 7d', example: '7d' }),
  tags: tagsParam,
});
const DurationString = z.string().regex(DURATION_PATTERN, 'must be a duration such as 30s');
/** A retention extension names its unit: a bare "30" would silently mean 30 milliseconds. */
const ExtensionString = z.string().regex(DURATION_WITH_UNIT_PATTERN, 'must be a duration with a unit, such as 30d');
/** Free text for a query: Postgres cannot hold a NUL byte, so one is a 400 here, not a 500 from the query. */
const QueryText = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\u0000]*$/, 'must not contain NUL characters');

const notFound = (id: string) => new ApiError(404, 'file_not_found', `No file ${id}`);

async function loadFile(c: Context<AppEnv>, id: string): Promise<FileRecord> {
  const row = await withDb(c, (db) => findTenantFile(db, c.var.tenantId, id));
  if (!row) throw notFound(id);
  c.set('log', c.var.log.child({ fileId: row.id, workflowId: row.workflowId }));
  return row;
}

/** The workflow's live state, or null when no worker answers within `timeoutMs`. */
async function queryState(c: Context<AppEnv>, row: FileRecord, timeoutMs: number): Promise<FileState | null> {
  try {
    return await withTemporal(c, (client) => client.workflow.getHandle(row.workflowId).query(statusQuery), timeoutMs);
  } catch (error) {
    c.var.log.debug({ err: error }, 'status query failed; answering from Postgres');
    return null;
  }
}

/**
 * While the file is processing the workflow knows more than Postgres; ask it, but never depend on it.
 * `queryTimeoutMs` bounds the query (a long-poll passes what is left of its wait); at 0 it is skipped.
 */
async function describeFile(c: Context<AppEnv>, row: FileRecord, queryTimeoutMs = QUERY_TIMEOUT_MS): Promise<FileView> {
  const live = row.status === 'PROCESSING' && queryTimeoutMs > 0;
  return toFileView(c.var.config, row, live ? await queryState(c, row, queryTimeoutMs) : null);
}

/**
 * A legal hold blocks deletion. The workflow's state is asked first: a hold set a moment ago is
 * there before its Postgres row catches up. Without an answer, the row decides.
 */
async function onHold(c: Context<AppEnv>, row: FileRecord): Promise<boolean> {
  return (await queryState(c, row, QUERY_TIMEOUT_MS))?.hold ?? row.hold;
}

function uploadAccepted(c: Context<AppEnv>, row: Pick<FileRecord, 'id' | 'workflowId' | 'status'>) {
  c.header('Location', `/v1/files/${row.id}`);
  return {
    id: row.id,
    status: row.status as (typeof FILE_STATUSES)[number],
    workflowId: row.workflowId,
    links: fileLinks(c.var.config, row.id, row.workflowId),
  };
}

const first = (values: string[] | undefined) => values?.[0];
const asList = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function cursorOf(row: FileRecord): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}
/**
 * Cursors are opaque to clients but not trusted: anything cursorOf could not have produced (a year
 * Postgres cannot store, an id with a NUL byte) is a 400 here instead of a failing query.
 */
function parseCursor(cursor: string): { createdAt: Date; id: string } {
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
    throw new ApiError(400, 'invalid_request', 'cursor: not a cursor returned by this API');
  }
}

/** Only files that passed the scan and validation are ever served. */
function assertServable(row: FileRecord): void {
  switch (row.status) {
    case 'READY':
      return;
    case 'PROCESSING':
      throw new ApiError(409, 'file_processing', 'The file is still being processed; try again when it is READY');
    case 'INFECTED':
      throw new ApiError(410, 'file_infected', `The file is quarantined: ${row.reason ?? 'malware detected'}`);
    case 'REJECTED':
      throw new ApiError(410, 'file_rejected', `The file was rejected: ${row.reason ?? 'invalid content'}`);
    case 'FAILED':
      throw new ApiError(410, 'file_failed', `Processing failed: ${row.reason ?? 'unknown error'}`);
    case 'DELETED':
      throw new ApiError(
        410,
        'file_deleted',
        `The file was deleted (${row.deletionReason ?? row.reason ?? 'deleted'})`,
      );
    default:
      throw new ApiError(410, 'file_unavailable', 'The file cannot be served');
  }
}

const RedirectQuery = z.object({
  redirect: z
    .enum(['0', '1', 'true', 'false'])
    .optional()
    .openapi({ description: '1 → 302 to a presigned URL valid for 5 minutes instead of streaming' }),
});
const wantsRedirect = (value: string | undefined) => value === '1' || value === 'true';

const binaryContent = { '*/*': { schema: { type: 'string', format: 'binary' } } } as const;

export const files = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/',
      summary: 'Upload a file',
      description:
        'Either `multipart/form-data` with a `file` field (and optional `callbackUrl`, `retention`, `tags` fields) or ' +
        'the raw bytes as the body with `?filename=` (and the same options as query parameters). The body streams ' +
        'to storage; processing happens in a Temporal workflow. Example: ' +
        '`curl -H "Authorization: Bearer $KEY" -F file=@photo.jpg http://localhost:3000/v1/files`',
      security,
      request: {
        query: UploadOptionsQuery,
        headers: z.object({
          'idempotency-key': z
            .string()
            .min(1)
            .max(255)
            .optional()
            .openapi({ description: 'Same key from the same tenant → the first upload is returned, nothing restarts' }),
        }),
        body: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file'],
                properties: {
                  file: { type: 'string', format: 'binary' },
                  callbackUrl: { type: 'string', format: 'uri' },
                  retention: { type: 'string', example: '7d' },
                  tags: { type: 'string', example: 'invoices,2026' },
                },
              },
            },
            'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
          },
        },
      },
      responses: {
        202: {
          description: 'Accepted: the file is stored and its workflow started',
          headers: { Location: { schema: { type: 'string' }, description: '/v1/files/{id}' } },
          content: { 'application/json': { schema: UploadAcceptedSchema } },
        },
        ...errorResponses(400, 401, 413, 422),
      },
    }),
    async (c) => {
      const { config, s3, tenantId } = c.var;
      const query = c.req.valid('query');
      const idempotencyKey = c.req.valid('header')['idempotency-key'] ?? null;

      if (idempotencyKey) {
        const existing = await withDb(c, (db) => findByIdempotencyKey(db, tenantId, idempotencyKey));
        if (existing) {
          c.header('Idempotent-Replayed', 'true');
          return c.json(uploadAccepted(c, existing), 202);
        }
      }

      const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const multipart = mediaType === 'multipart/form-data';
      if (!multipart && !query.filename) {
        throw new ApiError(400, 'invalid_request', 'filename: required as a query parameter for a raw upload');
      }

      const fileId = newFileId();
      const workflowId = workflowIdFor(fileId);
      const log = c.var.log.child({ fileId, workflowId });
      c.set('log', log);
      const target = {
        s3,
        bucket: config.s3.bucket,
        key: storageKeys.incoming(tenantId, fileId),
        maxBytes: config.limits.maxUploadBytes,
        log,
      };

      // Options in the query are validated before any byte is stored; multipart fields after the body.
      const options = (fields: Record<string, string[]>) => ({
        callbackUrl: parseHttpUrl(
          first(fields.callbackUrl) ?? query.callbackUrl,
          'callbackUrl',
          config.webhooks.allowPrivate,
        ),
        retentionMs: parseRetention(first(fields.retention) ?? query.retention, config.retention),
        tags: parseTags([...(fields.tags ?? []), ...asList(query.tags)]),
      });
      if (!multipart) options({});

      const received: ReceivedUpload = multipart
        ? await receiveMultipartUpload(c.req.raw, target)
        : await receiveRawUpload(c.req.raw, target);

      let parsed: ReturnType<typeof options>;
      try {
        parsed = options(received.fields);
        if (received.size === 0) throw new ApiError(422, 'empty_file', 'The uploaded file is empty (0 bytes)');
      } catch (error) {
        await discardObject(target);
        throw error;
      }

      const filename = sanitizeFilename(received.filename ?? query.filename);
      const createdAt = new Date();
      let row: FileRecord;
      try {
        row = await withDb(c, (db) =>
          insertProcessingFile(db, {
            id: fileId,
            tenantId,
            workflowId,
            filename,
            declaredContentType: received.declaredContentType,
            size: received.size,
            tags: parsed.tags,
            callbackUrl: parsed.callbackUrl,
            idempotencyKey,
            storageKey: target.key,
            createdAt,
          }),
        );
      } catch (error) {
        await discardObject(target);
        if (idempotencyKey && isUniqueViolation(error)) {
          // A concurrent request with the same key won the race: answer with its file.
          const winner = await withDb(c, (db) => findByIdempotencyKey(db, tenantId, idempotencyKey));
          if (winner) {
            c.header('Idempotent-Replayed', 'true');
            return c.json(uploadAccepted(c, winner), 202);
          }
        }
        throw error;
      }

      const input = buildUploadInput(config, {
        fileId,
        tenantId,
        filename,
        declaredContentType: received.declaredContentType,
        size: received.size,
        incomingKey: target.key,
        tags: parsed.tags,
        callbackUrl: parsed.callbackUrl,
        retentionMs: parsed.retentionMs,
        createdAt,
      });
      try {
        await withTemporal(c, (client) => startUploadWorkflow(client, input));
      } catch (error) {
        // Without a workflow nothing would ever process or delete the upload: undo it and let the client retry.
        log.error({ err: error }, 'could not start the upload workflow');
        await Promise.allSettled([
          callDependency('Postgres', () => deleteFileRow(c.var.db, fileId)),
          discardObject(target),
        ]);
        throw new ApiError(
          503,
          'dependency_unavailable',
          'Could not start processing (Temporal unavailable); retry later',
        );
      }
      log.info({ size: received.size, declaredContentType: received.declaredContentType }, 'upload accepted');
      return c.json(uploadAccepted(c, row), 202);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/',
      summary: "List the tenant's files, newest first",
      security,
      request: {
        query: z.object({
          status: z.enum(FILE_STATUSES).optional(),
          contentType: QueryText(255).optional().openapi({ description: 'Exact type, or a prefix like image/*' }),
          q: QueryText(500)
            .optional()
            .openapi({ description: 'Full-text search over filename, tags and text content' }),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().max(500).optional().openapi({ description: 'nextCursor from the previous page' }),
        }),
      },
      responses: {
        200: {
          description: 'A page of files',
          content: {
            'application/json': {
              schema: z.object({ items: z.array(FileSchema), nextCursor: z.string().nullable() }).openapi('FilePage'),
            },
          },
        },
        ...errorResponses(400, 401),
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const rows = await withDb(c, (db) =>
        listTenantFiles(db, c.var.tenantId, {
          status: query.status,
          contentType: query.contentType,
          q: query.q?.trim() || undefined,
          limit: query.limit + 1,
          cursor: query.cursor ? parseCursor(query.cursor) : undefined,
        }),
      );
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return c.json(
        {
          items: page.map((row) => toFileView(c.var.config, row)),
          nextCursor: rows.length > query.limit && last ? cursorOf(last) : null,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      summary: "A file's status, steps, renditions and links",
      description:
        'Live from the workflow while it runs. `?wait=30s` (or `?wait=30`, in seconds) long-polls until the status ' +
        'leaves PROCESSING (at most 60 s).',
      security,
      request: {
        params: FileIdParam,
        query: z.object({ wait: DurationString.optional().openapi({ example: '30s' }) }),
      },
      responses: {
        200: { description: 'The file', content: { 'application/json': { schema: FileSchema } } },
        ...errorResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { wait } = c.req.valid('query');
      // A bare number counts seconds, as long-poll parameters usually do (`?wait=30`), not milliseconds.
      const waitMs = Math.min(wait ? parseDuration(wait, 's') : 0, MAX_WAIT_MS);
      const deadline = Date.now() + waitMs;
      // The status queries share the wait's budget: a silent worker must not stretch the answer past it.
      const queryBudget = () => (waitMs > 0 ? Math.min(QUERY_TIMEOUT_MS, deadline - Date.now()) : QUERY_TIMEOUT_MS);
      let row = await loadFile(c, id);
      let view = await describeFile(c, row, queryBudget());
      const signal = c.req.raw.signal;
      while (view.status === 'PROCESSING' && Date.now() < deadline && !signal?.aborted) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL_MS, deadline - Date.now())));
        row = await loadFile(c, id);
        view = await describeFile(c, row, queryBudget());
      }
      return c.json(view, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/content',
      summary: "Download the file's original bytes",
      description: 'Only READY files are served. `?redirect=1` answers 302 to a presigned URL valid for 5 minutes.',
      security,
      request: { params: FileIdParam, query: RedirectQuery },
      responses: {
        200: {
          description: 'The bytes, with Content-Type, Content-Length and Content-Disposition',
          content: binaryContent,
        },
        302: { description: 'Redirect to a presigned URL' },
        ...errorResponses(400, 401, 404, 409, 410),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await loadFile(c, id);
      assertServable(row);
      return serveObject(c, {
        key:
          row.storageKey && !row.storageKey.startsWith('incoming/')
            ? row.storageKey
            : storageKeys.original(row.tenantId, row.id),
        contentType: row.contentType ?? 'application/octet-stream',
        filename: row.filename,
        redirect: wantsRedirect(c.req.valid('query').redirect),
      });
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/renditions/{name}',
      summary: 'Download a rendition (e.g. thumb, medium, large) as WebP',
      security,
      request: {
        params: FileIdParam.extend({
          name: z
            .string()
            .regex(/^[a-z][a-z0-9_-]{0,31}$/)
            .openapi({ param: { name: 'name', in: 'path' }, example: 'thumb' }),
        }),
        query: RedirectQuery,
      },
      responses: {
        200: { description: 'The rendition bytes', content: binaryContent },
        302: { description: 'Redirect to a presigned URL' },
        ...errorResponses(400, 401, 404, 409, 410),
      },
    }),
    async (c) => {
      const { id, name } = c.req.valid('param');
      const row = await loadFile(c, id);
      assertServable(row);
      const rendition = toFileView(c.var.config, row).renditions.find((r) => r.name === name);
      if (!rendition) throw new ApiError(404, 'rendition_not_found', `File ${id} has no rendition "${name}"`);
      const stem = row.filename.replace(/\.[^.]{1,10}$/, '');
      return serveObject(c, {
        key: storageKeys.rendition(row.tenantId, row.id, name),
        contentType: `image/${rendition.format}`,
        filename: `${stem}-${name}.${rendition.format}`,
        redirect: wantsRedirect(c.req.valid('query').redirect),
      });
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      summary: 'Delete the file and every artifact (asynchronously, by its workflow)',
      description:
        'Answers 409 while the file is on legal hold (`PATCH /v1/files/{id}/retention` with `{ "hold": false }` releases it).',
      security,
      request: { params: FileIdParam },
      responses: {
        202: {
          description: 'Deletion requested; the file becomes DELETED shortly',
          content: {
            'application/json': {
              schema: z.object({
                id: z.string(),
                deletionRequested: z.literal(true),
                links: z.object({ self: z.string() }),
              }),
            },
          },
        },
        ...errorResponses(400, 401, 404, 409, 410),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await loadFile(c, id);
      if (row.status === 'DELETED') throw new ApiError(410, 'file_deleted', `File ${id} is already deleted`);
      if (await onHold(c, row)) {
        throw new ApiError(409, 'file_on_hold', `File ${id} is on legal hold; release the hold before deleting it`);
      }
      try {
        await withTemporal(c, (client) =>
          client.workflow.getHandle(row.workflowId).signal(deleteSignal, { reason: 'requested' }),
        );
      } catch (error) {
        if (error instanceof WorkflowNotFoundError)
          throw new ApiError(410, 'file_deleted', `File ${id} is already deleted`);
        throw error;
      }
      c.var.log.info('deletion requested');
      return c.json(
        { id, deletionRequested: true as const, links: { self: fileLinks(c.var.config, id, row.workflowId).self } },
        202,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/{id}/retention',
      summary: 'Change retention: a new expiry, an extension or a legal hold',
      description:
        'Exactly one of `{ "expiresAt": "2030-01-01T00:00:00Z" }`, `{ "extendBy": "30d" }` or `{ "hold": true }`. ' +
        'Applied by a Temporal Update with a validator. The retention period starts when processing ends: a hold can be ' +
        'set at any time, a new expiry or an extension only once the file has its outcome (400 before).',
      security,
      request: {
        params: FileIdParam,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z
                .object({
                  expiresAt: z.iso.datetime({ offset: true }).optional(),
                  extendBy: ExtensionString.optional().openapi({ example: '30d' }),
                  hold: z.boolean().optional(),
                })
                .strict()
                .refine((b) => Object.values(b).filter((v) => v !== undefined).length === 1, {
                  message: 'give exactly one of expiresAt, extendBy or hold',
                })
                .openapi('RetentionChange'),
            },
          },
        },
      },
      responses: {
        200: {
          description: 'The new retention',
          content: {
            'application/json': {
              schema: z.object({ expiresAt: z.string().nullable(), hold: z.boolean() }).openapi('Retention'),
            },
          },
        },
        ...errorResponses(400, 401, 404, 410, 413, 415),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const row = await loadFile(c, id);
      if (row.status === 'DELETED') throw new ApiError(410, 'file_deleted', `File ${id} is deleted`);
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
          const reason = error.cause?.message ?? error.message;
          throw new ApiError(400, 'invalid_retention', reason);
        }
        if (error instanceof WorkflowNotFoundError) throw new ApiError(410, 'file_deleted', `File ${id} is deleted`);
        if (
          error instanceof ServiceError &&
          (error.cause as { code?: unknown } | undefined)?.code === GRPC_FAILED_PRECONDITION
        ) {
          throw new ApiError(
            503,
            'dependency_unavailable',
            `The workflow of file ${id} cannot take the change right now (its worker is not answering); retry later`,
          );
        }
        throw error;
      }
    },
  );
