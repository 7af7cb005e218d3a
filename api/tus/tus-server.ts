import { Server, type Upload } from '@tus/server';
import { S3Store, type Options as S3StoreOptions } from '@tus/s3-store';
import type { Context } from 'hono';
import type { Config, ObjectEncryption } from '../../config/env';
import { isDependencyOutage } from '../../lib/dependency-outage';
import { newFileId } from '../../lib/ids';
import { encryptEveryWrite } from '../../lib/s3-encryption';
import { finishTusUpload, parseTusUploadId, tusUploadId, type FinishedTusUpload } from '../../services/tus-upload';
import { pinSchema } from '../../services/accept-upload';
import { parseSchemaName } from '../../services/upload-schema';
import { checkUploadFits } from '../../prisma/quotas';
import { uploadDeps, withDb } from '../dependencies';
import { ApiError, ERRORS, asApiError, type ErrorCode } from '../errors';
import { normaliseContentType } from '../receive-upload';
import type { AppEnv } from '../types';
import { parseHttpUrl, parseRetention, parseTags, sanitizeFilename } from '../upload-fields';

/*
 * tus 1.0 (creation, creation-with-upload, termination, expiration) through @tus/server and
 * @tus/s3-store. @tus/server knows nothing of Hono: the request's Hono context (its tenant, services and
 * logger) is found again in the hooks through the Request object itself, which @tus/server passes on.
 */

export const TUS_PATH = '/v1/tus';

/** The header that names the file a finished tus upload became. */
export const FILE_ID_HEADER = 'Intake-File-Id';

/** A hook's refusal, in the shape @tus/server answers with; the body is already Intake's JSON error. */
interface TusRefusal {
  status_code: number;
  body: string;
}

const refusal = (code: ErrorCode, message: string): TusRefusal => ({
  status_code: ERRORS[code].status,
  body: JSON.stringify({ error: { code, message } }),
});

/** Any failure in a hook as @tus/server's refusal, with the status and code the rest of the API uses. */
function refusalOf(c: Context<AppEnv>, thrown: unknown): TusRefusal {
  if (typeof thrown === 'object' && thrown !== null && 'status_code' in thrown && 'body' in thrown) {
    return thrown as TusRefusal;
  }
  const error = asApiError(thrown);
  if (error instanceof ApiError) {
    if (error.status >= 500) c.var.log.warn({ code: error.code, err: error }, error.message);
    return refusal(error.code, error.message);
  }
  if (isDependencyOutage(error)) {
    c.var.log.warn({ err: error }, 'dependency unavailable');
    return refusal('dependency_unavailable', 'A dependency is unavailable; retry later');
  }
  c.var.log.error({ err: error }, 'unhandled error in a tus upload');
  return refusal('internal_error', 'Internal server error');
}

/** What Upload-Metadata must carry: `filename`, and optionally `tags`, `retention`, `callbackUrl`, `filetype`, `schema`. */
export function readTusMetadata(
  config: Config,
  metadata: Record<string, string | null> | undefined,
): Omit<FinishedTusUpload, 'tenantId' | 'fileId' | 'size'> {
  const value = (name: string) => metadata?.[name] ?? undefined;
  const filename = value('filename');
  if (filename === undefined || filename.trim() === '') {
    throw new ApiError('invalid_request', 'Upload-Metadata: filename is required (base64 of the file name)');
  }
  return {
    filename: sanitizeFilename(filename),
    declaredContentType: normaliseContentType(value('filetype') ?? value('contentType')),
    tags: parseTags(value('tags') === undefined ? [] : [value('tags')!]),
    callbackUrl: parseHttpUrl(value('callbackUrl'), 'callbackUrl', config.webhooks),
    retentionMs: parseRetention(value('retention'), config.retention),
    schemaName: parseSchemaName(value('schema')),
  };
}

/** @tus/s3-store builds its own S3 client; it gets the repo's encryption at rest like every other one. */
class EncryptedS3Store extends S3Store {
  constructor(options: S3StoreOptions, encryption: ObjectEncryption) {
    super(options);
    encryptEveryWrite(this.client, encryption);
    // Deferred lengths would bypass the size check at creation; Intake offers only what it tests.
    this.extensions = ['creation', 'creation-with-upload', 'termination', 'expiration'];
  }
}

/**
 * @tus/s3-store caches each upload's `.info` in memory by default. Another API process (a PATCH routed
 * elsewhere, a restart) or the expiry sweep changes S3 behind such a cache, so every request reads
 * S3 itself: one small GET per request.
 */
const noCache: NonNullable<S3StoreOptions['cache']> = {
  get: () => Promise.resolve(undefined),
  set: () => Promise.resolve(),
  delete: () => Promise.resolve(),
};

export interface TusEndpoint {
  /** Answers one tus request; its body is read by @tus/server itself, so nothing may parse it first. */
  handle(c: Context<AppEnv>): Promise<Response>;
}

export function createTusEndpoint(config: Config): TusEndpoint {
  const contexts = new WeakMap<Request, Context<AppEnv>>();
  const contextOf = (req: Request): Context<AppEnv> => {
    const c = contexts.get(req);
    if (!c) throw new Error('a tus request reached @tus/server without its Hono context');
    return c;
  };
  // The tus server's config is the app's (createTusEndpoint is given services.config).
  const serviceDeps = uploadDeps;

  const finish = async (c: Context<AppEnv>, upload: Upload): Promise<string> => {
    const ids = parseTusUploadId(upload.id);
    if (!ids || ids.tenantId !== c.var.tenantId) throw new ApiError('upload_not_found', 'No such tus upload');
    const { row, replayed } = await finishTusUpload(serviceDeps(c), {
      ...ids,
      size: upload.size ?? upload.offset,
      ...readTusMetadata(config, upload.metadata),
    });
    if (!replayed) c.var.metrics?.uploadAccepted(row.tenantId, 'tus', Number(row.size));
    return row.id;
  };

  const { s3 } = config;
  const store = new EncryptedS3Store(
    {
      partSize: config.tus.partBytes,
      cache: noCache,
      expirationPeriodInMilliseconds: config.tus.expiryMs,
      s3ClientConfig: {
        bucket: s3.bucket,
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: s3.forcePathStyle,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
    },
    s3.encryption,
  );

  const server = new Server({
    path: TUS_PATH,
    datastore: store,
    maxSize: config.limits.maxUploadBytes,
    // Ids embed the tenant, so one tenant's URL can never reach another tenant's upload.
    namingFunction: (req) => tusUploadId(contextOf(req).var.tenantId, newFileId()),
    generateUrl: (_req, { id }) => `${config.publicUrl}${TUS_PATH}/${parseTusUploadId(id)?.fileId ?? ''}`,
    getFileIdFromRequest: (req, lastPath) =>
      lastPath && parseTusUploadId(tusUploadId('t', lastPath))
        ? tusUploadId(contextOf(req).var.tenantId, lastPath)
        : undefined,
    disableTerminationForFinishedUploads: false,
    exposedHeaders: [FILE_ID_HEADER],
    onUploadCreate: async (req, upload) => {
      const c = contextOf(req);
      try {
        if (upload.size === 0) throw new ApiError('empty_file', 'The upload is empty (Upload-Length: 0)');
        const { schemaName } = readTusMetadata(config, upload.metadata);
        // An unknown schema is refused before the first byte; the version is pinned when the upload finishes.
        if (schemaName) await withDb(c, (db) => pinSchema(db, c.var.tenantId, schemaName));
        // A full quota refuses the upload before its first byte; the charge itself is taken at the finish.
        if (upload.size !== undefined) {
          const size = upload.size;
          await withDb(c, (db) => checkUploadFits(db, c.var.tenantId, c.var.limits, size));
        }
      } catch (error) {
        throw refusalOf(c, error);
      }
      return {};
    },
    onUploadFinish: async (req, upload) => {
      const c = contextOf(req);
      try {
        return { headers: { [FILE_ID_HEADER]: await finish(c, upload) } };
      } catch (error) {
        throw refusalOf(c, error);
      }
    },
    onResponseError: (req, error) => {
      if ('status_code' in error) return undefined;
      // S3 has no multipart upload left to append to: the upload is complete (finishOnRepeatedPatch).
      if (error.name === 'NoSuchUpload') return refusal('upload_offset_mismatch', 'The upload is already complete');
      return refusalOf(contextOf(req), error);
    },
  });

  /** The tus answer, with Intake's JSON error body in place of @tus/server's plain text. */
  const withJsonError = async (c: Context<AppEnv>, response: Response): Promise<Response> => {
    if (response.status < 400) return response;
    const text = (await response.text()).trim();
    let body: { error?: { code?: string; message?: string } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    const code = body?.error?.code ?? codeForStatus(response.status);
    const message = body?.error?.message ?? (text || code);
    const headers = new Headers(response.headers);
    headers.delete('Content-Length');
    headers.set('Content-Type', 'application/json');
    if (response.status === 503) headers.set('Retry-After', '5');
    const json = JSON.stringify({ error: { code, message, requestId: c.var.requestId } });
    return new Response(json, { status: response.status, headers });
  };

  /**
   * A complete upload answers HEAD with its file, and a finish that failed before (a 503 on the final
   * PATCH) runs again here: clients such as tus-js-client HEAD after an error and, seeing the whole
   * length stored, never PATCH again.
   */
  const finishOnHead = async (c: Context<AppEnv>, response: Response): Promise<Response> => {
    const offset = response.headers.get('Upload-Offset');
    if (response.status !== 200 || offset === null || offset !== response.headers.get('Upload-Length')) {
      return response;
    }
    const id = getIdOf(c);
    if (!id) return response;
    try {
      const fileId = await finish(c, await store.getUpload(id));
      const headers = new Headers(response.headers);
      headers.set(FILE_ID_HEADER, fileId);
      return new Response(null, { status: 200, headers });
    } catch (error) {
      const mapped = refusalOf(c, error);
      return new Response(mapped.body, { status: mapped.status_code, headers: response.headers });
    }
  };

  /**
   * A final PATCH sent again after its answer was lost, with Upload-Offset at the end and no bytes:
   * @tus/server cannot append to a completed S3 upload, so the answer is the finished upload's.
   */
  const finishOnRepeatedPatch = async (c: Context<AppEnv>, response: Response): Promise<Response> => {
    const id = getIdOf(c);
    if (response.status < 400 || !id) return response;
    let upload: Upload;
    try {
      upload = await store.getUpload(id);
    } catch {
      return response;
    }
    const claimed = Number(c.req.header('upload-offset'));
    if (upload.size === undefined || upload.offset !== upload.size || claimed !== upload.size) return response;
    try {
      const headers = new Headers(response.headers);
      headers.delete('Content-Length');
      headers.set('Upload-Offset', String(upload.offset));
      headers.set(FILE_ID_HEADER, await finish(c, upload));
      return new Response(null, { status: 204, headers });
    } catch (error) {
      const mapped = refusalOf(c, error);
      return new Response(mapped.body, { status: mapped.status_code, headers: response.headers });
    }
  };

  const getIdOf = (c: Context<AppEnv>): string | undefined => {
    const last = /([^/]+)\/?$/.exec(c.req.path)?.[1];
    return last && parseTusUploadId(tusUploadId(c.var.tenantId, last)) ? tusUploadId(c.var.tenantId, last) : undefined;
  };

  return {
    async handle(c) {
      const req = c.req.raw;
      contexts.set(req, c);
      let response = await server.handleWeb(req);
      if (c.req.method === 'HEAD') response = await finishOnHead(c, response);
      if (c.req.method === 'PATCH') response = await finishOnRepeatedPatch(c, response);
      return withJsonError(c, response);
    },
  };
}

/** The code of a status @tus/server answers with on its own (its bodies are plain text). */
function codeForStatus(status: number): ErrorCode {
  const codes: Partial<Record<number, ErrorCode>> = {
    400: 'invalid_request',
    403: 'tus_header_invalid',
    404: 'upload_not_found',
    409: 'upload_offset_mismatch',
    410: 'tus_upload_gone',
    412: 'tus_resumable_required',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
    501: 'not_implemented',
    503: 'dependency_unavailable',
  };
  return codes[status] ?? 'internal_error';
}
