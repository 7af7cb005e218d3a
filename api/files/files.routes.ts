import { createRoute, z } from '@hono/zod-openapi';
import { FILE_STATUSES } from '../../common/domain';
import { BEARER_SECURITY, errorResponses } from '../errors';
import { FileSchema, UploadAcceptedSchema } from '../file-view';
import { ID_PARAM_PATTERN, MAX_FILENAME_LENGTH } from '../upload-fields';
import { SCHEMA_NAME_PATTERN } from '../../services/upload-schema';
import { DURATION_PATTERN, DURATION_WITH_UNIT_PATTERN } from '../../common/durations';

/* The /v1/files routes as OpenAPI definitions: paths, parameters, bodies and every documented answer. */

const security = BEARER_SECURITY;
/** The `{id}` of every /v1/files/{id}… route, the event stream's too. */
export const FileIdParam = z.object({
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
/** What the spec says of callback and webhook URLs; parseHttpUrl checks the rest (credentials, private hosts). */
const HTTP_URL_DOC = { format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' } as const;
const UploadOptionsQuery = z.object({
  // The stored name is cut to MAX_FILENAME_LENGTH anyway. A longer limit let a valid query outgrow
  // Node's 16 KiB header limit (4096 characters, percent-encoded, are up to 48 KiB): a bare 431, no JSON.
  filename: z
    .string()
    .refine((name) => Array.from(name).length <= MAX_FILENAME_LENGTH, {
      message: `at most ${MAX_FILENAME_LENGTH} characters`,
    })
    .optional()
    .openapi({ description: 'Required for a raw (non-multipart) upload', maxLength: MAX_FILENAME_LENGTH }),
  callbackUrl: z
    .string()
    .max(2048)
    .optional()
    .openapi({ description: 'http(s) URL to notify of the outcome (signed)', ...HTTP_URL_DOC }),
  retention: z
    .string()
    .max(32)
    .optional()
    .openapi({ description: 'How long to keep the file, e.g. 7d', example: '7d' }),
  tags: tagsParam,
  schema: z
    .string()
    .regex(SCHEMA_NAME_PATTERN, 'a schema name is 1-64 letters, digits, . _ - (starting with a letter or digit)')
    .optional()
    .openapi({
      description:
        "A JSON upload is validated against the tenant's JSON Schema of this name (the version current now); " +
        'an unknown name is a 422 unknown_schema',
      example: 'product',
    }),
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

const DownloadQuery = z.object({
  redirect: z
    .enum(['0', '1', 'true', 'false'])
    .optional()
    .openapi({ description: '1 → 302 to a presigned URL valid for 5 minutes instead of streaming' }),
  disposition: z
    .enum(['attachment', 'inline'])
    .optional()
    .openapi({ description: 'inline serves an image inline (for an <img>); anything else stays an attachment' }),
});
/** Conditional and partial downloads (RFC 9110): resumable downloads, video seeking, revalidation. */
export const DownloadHeaders = z.object({
  range: z.string().max(200).optional().openapi({
    description: 'One byte range, e.g. bytes=0-1023 → 206; outside the content → 416',
    example: 'bytes=0-1023',
  }),
  'if-none-match': z
    .string()
    .max(1024)
    .optional()
    .openapi({ description: 'The ETag of a copy already held → 304 while it is still current' }),
  'if-range': z
    .string()
    .max(1024)
    .optional()
    .openapi({ description: 'Honour Range only while the ETag is still this one' }),
});
const binaryContent = { '*/*': { schema: { type: 'string', format: 'binary' } } } as const;
const DOWNLOAD_HEADERS = {
  ETag: { schema: { type: 'string' }, description: "The stored object's entity tag (for If-None-Match, If-Range)" },
  'Accept-Ranges': { schema: { type: 'string' }, description: 'bytes' },
} as const;
/** The answers every download shares: 200, 206, 304 and 416 besides the errors. */
export const downloadResponses = (what: string) =>
  ({
    200: {
      description: `${what}, with Content-Type, Content-Length and Content-Disposition`,
      headers: DOWNLOAD_HEADERS,
      content: binaryContent,
    },
    206: {
      description: 'The requested byte range (Content-Range says which)',
      headers: {
        ...DOWNLOAD_HEADERS,
        'Content-Range': { schema: { type: 'string' }, description: 'bytes first-last/size' },
      },
      content: binaryContent,
    },
    304: { description: 'Not modified: the ETag in If-None-Match is current', headers: DOWNLOAD_HEADERS },
  }) as const;

export const uploadFile = createRoute({
  method: 'post',
  path: '/',
  summary: 'Upload a file',
  description:
    'Either `multipart/form-data` with a `file` field (and optional `callbackUrl`, `retention`, `tags`, `schema` fields) or ' +
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
              callbackUrl: { type: 'string', ...HTTP_URL_DOC },
              retention: { type: 'string', example: '7d' },
              schema: { type: 'string', pattern: SCHEMA_NAME_PATTERN.source, example: 'product' },
              // Like the query parameter: comma-separated, or the field repeated (an array in OpenAPI).
              tags: {
                anyOf: [
                  { type: 'string', example: 'invoices,2026' },
                  { type: 'array', items: { type: 'string' } },
                ],
              },
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
});
export type UploadFileRoute = typeof uploadFile;

export const listFiles = createRoute({
  method: 'get',
  path: '/',
  summary: "List the tenant's files, newest first",
  security,
  request: {
    query: z.object({
      status: z
        .enum(FILE_STATUSES)
        .optional()
        .openapi({ description: 'Only files in this status; without it, deleted tombstones are left out' }),
      contentType: QueryText(255).optional().openapi({ description: 'Exact type, or a prefix like image/*' }),
      q: QueryText(500).optional().openapi({
        description:
          'Full-text search over filename, tags and text content (whole words), and any part of the filename ("holi" finds "holiday.jpg")',
      }),
      batch: z.string().max(64).regex(ID_PARAM_PATTERN, 'not a batch id').optional().openapi({
        description: 'Only the files of this batch (POST /v1/batches)',
        example: 'b_3kq7w2mz5c4xv6b7n8p2r4t5',
      }),
      tag: QueryText(64).optional().openapi({ description: 'Only files carrying this tag', example: 'invoices' }),
      createdFrom: z.iso
        .datetime({ offset: true })
        .optional()
        .openapi({ description: 'Only files uploaded at or after this instant', example: '2026-12-01T00:00:00Z' }),
      createdBefore: z.iso
        .datetime({ offset: true })
        .optional()
        .openapi({ description: 'Only files uploaded before this instant', example: '2026-12-31T00:00:00Z' }),
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
});
export type ListFilesRoute = typeof listFiles;

export const getFile = createRoute({
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
});
export type GetFileRoute = typeof getFile;

export const downloadContent = createRoute({
  method: 'get',
  path: '/{id}/content',
  summary: "Download the file's original bytes",
  description:
    'Only READY files are served. `?redirect=1` answers 302 to a presigned URL valid for 5 minutes. `Range` answers ' +
    '206 (416 outside the content), `If-None-Match` with the ETag 304; `?disposition=inline` serves an image inline.',
  security,
  request: { params: FileIdParam, query: DownloadQuery, headers: DownloadHeaders },
  responses: {
    ...downloadResponses('The bytes'),
    302: { description: 'Redirect to a presigned URL' },
    ...errorResponses(400, 401, 404, 409, 410, 416),
  },
});
export type DownloadContentRoute = typeof downloadContent;

export const downloadRendition = createRoute({
  method: 'get',
  path: '/{id}/renditions/{name}',
  summary: 'Download a rendition (e.g. thumb, medium, large-avif) in its format (WebP or AVIF)',
  security,
  request: {
    params: FileIdParam.extend({
      name: z
        .string()
        .regex(/^[a-z][a-z0-9_-]{0,31}$/)
        .openapi({ param: { name: 'name', in: 'path' }, example: 'thumb' }),
    }),
    query: DownloadQuery,
    headers: DownloadHeaders,
  },
  responses: {
    ...downloadResponses('The rendition bytes (Cache-Control: immutable, a year)'),
    302: { description: 'Redirect to a presigned URL' },
    ...errorResponses(400, 401, 404, 409, 410, 416),
  },
});
export type DownloadRenditionRoute = typeof downloadRendition;

export const deleteFile = createRoute({
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
});
export type DeleteFileRoute = typeof deleteFile;

export const changeRetention = createRoute({
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
            .refine((change) => Object.values(change).filter((value) => value !== undefined).length === 1, {
              message: 'give exactly one of expiresAt, extendBy or hold',
            })
            // The refine is invisible to the generated schema; without this a client (or a fuzzer) reads
            // `{ "hold": true, "extendBy": "30d" }` as valid and meets a 400.
            .openapi('RetentionChange', {
              oneOf: [{ required: ['expiresAt'] }, { required: ['extendBy'] }, { required: ['hold'] }],
            }),
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
    ...errorResponses(400, 401, 404, 410, 413, 415, 429),
  },
});
export type ChangeRetentionRoute = typeof changeRetention;
