import { createRoute, z } from '@hono/zod-openapi';
import { SCHEMA_NAME_PATTERN } from '../../services/upload-schema';
import { DURATION_PATTERN } from '../../common/durations';
import { BEARER_SECURITY, errorResponses } from '../errors';
import { UploadAcceptedSchema } from '../file-view';
import { MAX_PARTS } from '../../lib/presigned-uploads';
import { ID_PARAM_PATTERN, MAX_FILENAME_LENGTH } from '../upload-fields';

/* Direct-to-S3 uploads: POST /v1/uploads signs the URLs, the client sends the bytes, complete admits them. */

const security = BEARER_SECURITY;
const HTTP_URL_DOC = { format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' } as const;

const SignedHeaders = z
  .record(z.string(), z.string())
  .openapi({ description: 'Send each of these headers exactly: they are part of the signature' });

const SinglePutPlan = z
  .object({
    id: z.string().openapi({ example: 'u_3kq7w2mz5c4xv6b7n8p2r4t5' }),
    fileId: z.string().openapi({ description: 'The file the upload becomes once completed' }),
    method: z.literal('PUT'),
    url: z.string().openapi({ description: 'Presigned S3 PutObject URL' }),
    headers: SignedHeaders,
    completeUrl: z.string(),
    expiresAt: z.string(),
  })
  .openapi('DirectUploadPut');

const MultipartPlan = z
  .object({
    id: z.string(),
    fileId: z.string(),
    method: z.literal('MULTIPART'),
    partSize: z.number().int(),
    parts: z.array(
      z.object({
        partNumber: z.number().int(),
        size: z.number().int(),
        method: z.literal('PUT'),
        url: z.string(),
        headers: SignedHeaders,
      }),
    ),
    completeUrl: z.string().openapi({ description: 'POST here with { parts: [{ partNumber, etag }] }' }),
    expiresAt: z.string(),
  })
  .openapi('DirectUploadMultipart');

export const createUpload = createRoute({
  method: 'post',
  path: '/',
  summary: 'Start a direct upload: presigned S3 URLs for the bytes, which never pass through the API',
  description:
    'Up to INTAKE_DIRECT_UPLOAD_THRESHOLD (64 MiB) one presigned PUT with the exact Content-Length signed; above ' +
    'it a multipart plan with one presigned PUT per part. Send the bytes, then POST the completeUrl before ' +
    'expiresAt. The declared size and sha256 are checked against the bytes: a mismatch ends REJECTED.',
  security,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              filename: z
                .string()
                .min(1)
                .refine((name) => Array.from(name).length <= MAX_FILENAME_LENGTH, {
                  message: `at most ${MAX_FILENAME_LENGTH} characters`,
                })
                .openapi({ maxLength: MAX_FILENAME_LENGTH }),
              size: z.number().int().min(1).openapi({ description: 'Exact size in bytes' }),
              contentType: z
                .string()
                .max(255)
                .regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/, 'must be a MIME type such as image/jpeg')
                .optional(),
              sha256: z
                .string()
                .regex(/^[A-Fa-f0-9]{64}$/, 'must be 64 hex digits')
                .optional(),
              callbackUrl: z
                .string()
                .max(2048)
                .regex(/^[Hh][Tt][Tt][Pp][Ss]?:\/\//, 'must be an http(s) URL')
                .optional()
                .openapi(HTTP_URL_DOC),
              retention: z
                .string()
                .max(32)
                .regex(DURATION_PATTERN, 'must be a duration such as 7d')
                .optional()
                .openapi({ example: '7d' }),
              tags: z
                .union([z.string().max(4096), z.array(z.string().max(64)).max(32)])
                .optional()
                .openapi({ description: 'Comma-separated, or a list' }),
              schema: z
                .string()
                .regex(
                  SCHEMA_NAME_PATTERN,
                  'a schema name is 1-64 letters, digits, . _ - (starting with a letter or digit)',
                )
                .optional()
                .openapi({
                  description:
                    "The tenant's JSON Schema the JSON upload is validated against, pinned now (unknown: 422 unknown_schema)",
                  example: 'product',
                }),
            })
            .strict()
            .openapi('DirectUploadRequest'),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Where to send the bytes',
      content: { 'application/json': { schema: z.union([SinglePutPlan, MultipartPlan]) } },
    },
    ...errorResponses(400, 401, 413, 415, 422),
  },
});
export type CreateUploadRoute = typeof createUpload;

export const completeUpload = createRoute({
  method: 'post',
  path: '/{id}/complete',
  summary: 'Complete a direct upload: the file is admitted and its workflow starts',
  description:
    'Answers 202 with the file, as POST /v1/files does; again with the same file when repeated. 409 when the ' +
    'bytes (or a part) never arrived, 410 after expiresAt.',
  security,
  request: {
    params: z.object({
      id: z
        .string()
        .min(1)
        .max(64)
        .regex(ID_PARAM_PATTERN, 'not an upload id')
        .openapi({ param: { name: 'id', in: 'path' }, example: 'u_3kq7w2mz5c4xv6b7n8p2r4t5' }),
    }),
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z
            .object({
              parts: z
                .array(
                  z.object({
                    partNumber: z.number().int().min(1).max(MAX_PARTS),
                    etag: z.string().min(1).max(128),
                  }),
                )
                .min(1)
                .max(MAX_PARTS)
                .optional()
                .openapi({ description: 'For a multipart upload: every part with the ETag S3 answered' }),
            })
            .strict()
            .openapi('DirectUploadComplete'),
        },
      },
    },
  },
  responses: {
    202: {
      description: 'Accepted: the file exists and its workflow started',
      headers: { Location: { schema: { type: 'string' }, description: '/v1/files/{id}' } },
      content: { 'application/json': { schema: UploadAcceptedSchema } },
    },
    ...errorResponses(400, 401, 404, 409, 410, 413, 415),
  },
});
export type CompleteUploadRoute = typeof completeUpload;
