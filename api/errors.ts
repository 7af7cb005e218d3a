import { z } from '@hono/zod-openapi';
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { isDependencyOutage } from '../lib/dependency-outage';
import { QuotaExceededError } from '../prisma/quotas';
import { UploadRefused, type UploadRefusalReason } from '../services/accept-upload';
import type { AppEnv } from './types';

/**
 * Every error code the API answers with, its status and what it means: one table, as tus-node-server
 * keeps its ERRORS, so a code always comes with the same status.
 */
export const ERRORS = {
  invalid_request: { status: 400, meaning: 'The request is malformed; the message names the field' },
  invalid_schema: { status: 400, meaning: 'The JSON Schema is not valid draft 2020-12; the message says why' },
  invalid_retention: { status: 400, meaning: "The file's workflow refused the retention change" },
  unauthorized: { status: 401, meaning: 'Missing, malformed or unknown API key' },
  tus_header_invalid: { status: 403, meaning: 'A tus PATCH without Upload-Offset or offset+octet-stream type' },
  quota_exceeded: {
    status: 403,
    meaning: "The tenant's storage or file quota is full; the message gives used and limit",
  },
  codec_forbidden: { status: 403, meaning: 'The codec endpoint refuses this browser origin or namespace' },
  metrics_token_required: {
    status: 403,
    meaning: 'GET /metrics is closed in production until INTAKE_METRICS_TOKEN is set',
  },
  not_found: { status: 404, meaning: 'No route for this method and path' },
  file_not_found: { status: 404, meaning: 'No such file for this tenant' },
  batch_not_found: { status: 404, meaning: 'No such batch for this tenant' },
  rendition_not_found: { status: 404, meaning: 'The file has no rendition of that name' },
  webhook_not_found: { status: 404, meaning: 'No such webhook for this tenant' },
  share_not_found: { status: 404, meaning: 'No such share link' },
  schema_not_found: { status: 404, meaning: 'No such JSON Schema for this tenant' },
  upload_not_found: { status: 404, meaning: 'No such direct upload for this tenant' },
  method_not_allowed: { status: 405, meaning: 'The path exists, the method does not (see Allow)' },
  file_processing: { status: 409, meaning: 'The file is still processing' },
  file_on_hold: { status: 409, meaning: 'The file is on legal hold' },
  file_not_shareable: { status: 409, meaning: 'Only READY files can be shared' },
  upload_incomplete: { status: 409, meaning: "The direct upload's bytes have not (all) arrived in S3" },
  upload_offset_mismatch: { status: 409, meaning: "A tus PATCH's Upload-Offset is not the upload's (HEAD tells)" },
  file_deleted: { status: 410, meaning: 'The file was deleted' },
  file_infected: { status: 410, meaning: 'The file is quarantined as malware' },
  file_rejected: { status: 410, meaning: 'The file failed validation' },
  file_failed: { status: 410, meaning: 'Processing failed' },
  file_unavailable: { status: 410, meaning: 'The file cannot be served' },
  share_gone: { status: 410, meaning: 'The share link expired, was used up or revoked, or its file was deleted' },
  upload_expired: { status: 410, meaning: 'The direct upload expired before it was completed' },
  tus_upload_gone: { status: 410, meaning: 'The tus upload expired before its last byte arrived' },
  content_gone: { status: 410, meaning: 'The stored bytes are no longer available' },
  payload_too_large: { status: 413, meaning: 'The upload or JSON body exceeds its limit' },
  tus_resumable_required: { status: 412, meaning: 'A tus request without Tus-Resumable: 1.0.0' },
  unsupported_media_type: { status: 415, meaning: 'Unsupported Content-Type' },
  range_not_satisfiable: { status: 416, meaning: 'The Range lies outside the content (see Content-Range)' },
  empty_file: { status: 422, meaning: 'The uploaded file is empty' },
  unknown_schema: { status: 422, meaning: 'The upload names a JSON Schema the tenant has not registered' },
  idempotency_key_reused: { status: 422, meaning: 'The Idempotency-Key was first used for a different upload' },
  rate_limited: {
    status: 429,
    meaning:
      "Over the API key's requests per second, the tenant's concurrent uploads, or too many changes to this file (see Retry-After)",
  },
  internal_error: { status: 500, meaning: 'Unexpected server error' },
  not_implemented: { status: 501, meaning: 'A tus extension Intake does not offer' },
  dependency_unavailable: {
    status: 503,
    meaning: 'Temporal, Postgres, S3, clamd or (for uploads) Redis is unavailable',
  },
} as const satisfies Record<string, { status: ContentfulStatusCode; meaning: string }>;
export type ErrorCode = keyof typeof ERRORS;

/** A failure the client should see: a code from ERRORS (which fixes its status) and a human message. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERRORS[code].status;
  }
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'file_not_found' }),
      message: z.string().openapi({ example: 'No file f_abc… for this tenant' }),
      requestId: z.string().openapi({ example: '0b7c5c1e-6f5b-4a8e-9d8f-2f1c3b9e4a11' }),
    }),
  })
  .openapi('Error');

const ERROR_DESCRIPTIONS = {
  400: 'Invalid request (the message names the field)',
  401: 'Missing or unknown API key',
  403: "The tenant's storage or file quota is full",
  404: 'No such resource for this tenant',
  405: 'Method not allowed on this path',
  409: 'The file is still processing',
  410: 'The file is gone (deleted, quarantined or rejected)',
  413: 'The upload (or JSON body) exceeds its size limit',
  415: 'Unsupported Content-Type',
  416: 'The requested range lies outside the content (Content-Range: bytes */size)',
  422: 'The request is well-formed but cannot be processed (e.g. an empty file, an unknown schema)',
  429: 'Too many requests for this resource; retry after the Retry-After header',
  500: 'Unexpected server error',
  503: 'A dependency (Temporal, Postgres, S3, clamd) is unavailable',
} as const;
type DocumentedError = keyof typeof ERROR_DESCRIPTIONS;

/** The security requirement of every route that needs an API key (the scheme is registered in docs.ts). */
export const BEARER_SECURITY = [{ bearerAuth: [] }];

/** Every 503 and 429 says when to retry. */
export const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' as const } },
};

/** OpenAPI response entries for the error statuses a route can answer. */
export function errorResponses<const S extends DocumentedError>(...statuses: S[]) {
  return Object.fromEntries(
    [...statuses, 500 as const, 503 as const].map((status) => [
      status,
      {
        description: ERROR_DESCRIPTIONS[status],
        ...(status === 503 || status === 429 ? { headers: RETRY_AFTER_HEADER } : {}),
        content: { 'application/json': { schema: ErrorSchema } },
      },
    ]),
  ) as unknown as Record<
    S | 500 | 503,
    { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }
  >;
}

/**
 * Seconds a client should wait before retrying a 503: dependencies restart in seconds (a Postgres crash
 * recovery, a Temporal restart), and a hint keeps well-behaved clients from hammering them meanwhile.
 */
export const RETRY_AFTER_SECONDS = '5';

function errorJson(c: Context<AppEnv>, status: ContentfulStatusCode, code: string, message: string) {
  if (status === 503) c.header('Retry-After', RETRY_AFTER_SECONDS);
  return c.json({ error: { code, message, requestId: c.get('requestId') ?? '' } }, status);
}

/** An error answer for a code from ERRORS, with the status the table gives it. */
export function answerError(c: Context<AppEnv>, code: ErrorCode, message: string) {
  return errorJson(c, ERRORS[code].status, code, message);
}

/** Hono's own HTTPExceptions (e.g. a body that is not JSON), by status. */
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** Turns zod issues into one readable sentence that names each offending field. */
export function zodIssuesSentence(error: ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** The one zod defaultHook: every validation failure becomes a 400 in the shared error shape. */
export const validationHook = (
  result: { success: true } | { success: false; error: ZodError },
  c: Context<AppEnv>,
): Response | undefined => {
  if (result.success) return undefined;
  return answerError(c, 'invalid_request', zodIssuesSentence(result.error));
};

/** The code of each refusal the accept-upload service raises (it knows nothing of HTTP). */
const UPLOAD_REFUSALS: Record<UploadRefusalReason, ErrorCode> = {
  invalid_request: 'invalid_request',
  empty_file: 'empty_file',
  processing_not_started: 'dependency_unavailable',
  idempotency_key_reused: 'idempotency_key_reused',
  upload_not_found: 'upload_not_found',
  upload_expired: 'upload_expired',
  upload_incomplete: 'upload_incomplete',
  unknown_schema: 'unknown_schema',
};

/** The ApiError a service's refusal stands for; anything else unchanged. */
export const asApiError = (thrown: unknown): unknown =>
  thrown instanceof UploadRefused
    ? new ApiError(UPLOAD_REFUSALS[thrown.reason], thrown.message)
    : thrown instanceof QuotaExceededError
      ? new ApiError('quota_exceeded', thrown.message)
      : thrown;

/** The one error handler: JSON in the shared shape, never HTML, never a stack trace. */
export const onError: ErrorHandler<AppEnv> = (thrown, c) => {
  const err = asApiError(thrown);
  if (err instanceof ApiError) {
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    if (err.status >= 500) c.get('log')?.warn({ code: err.code, err }, err.message);
    return errorJson(c, err.status, err.code, err.message);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = HTTP_EXCEPTION_CODES[status] ?? (status >= 500 ? 'internal_error' : 'http_error');
    return errorJson(c, status, code, err.message || code);
  }
  if (isDependencyOutage(err)) {
    c.get('log')?.warn({ err }, 'dependency unavailable');
    return answerError(c, 'dependency_unavailable', 'A dependency is unavailable; retry later');
  }
  c.get('log')?.error({ err }, 'unhandled error');
  return answerError(c, 'internal_error', 'Internal server error');
};
