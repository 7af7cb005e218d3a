import { createRoute, z } from '@hono/zod-openapi';
import { BATCH_STATUSES, FILE_STATUSES } from '../../common/domain';
import { BEARER_SECURITY, errorResponses } from '../errors';
import { SCHEMA_NAME_PATTERN } from '../../services/upload-schema';
import { FileSchema } from '../file-view';
import { ID_PARAM_PATTERN } from '../upload-fields';

/* The /v1/batches routes as OpenAPI definitions. */

const security = BEARER_SECURITY;
const HTTP_URL_DOC = { format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' } as const;

const BatchIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(ID_PARAM_PATTERN, 'not a batch id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'b_3kq7w2mz5c4xv6b7n8p2r4t5' }),
});

const BatchLinksSchema = z
  .object({
    self: z.string(),
    files: z.string().openapi({ description: 'GET /v1/files?batch=… for the same files' }),
  })
  .openapi('BatchLinks');

const BatchMemberSchema = z
  .object({
    id: z.string().openapi({ example: 'f_3kq7w2mz5c4xv6b7n8p2r4t5' }),
    filename: z.string(),
    status: z.enum(FILE_STATUSES).openapi({ example: 'PROCESSING' }),
  })
  .openapi('BatchMember');

export const BatchAcceptedSchema = z
  .object({
    id: z.string().openapi({ example: 'b_3kq7w2mz5c4xv6b7n8p2r4t5' }),
    status: z.enum(BATCH_STATUSES).openapi({ example: 'PROCESSING' }),
    files: z.array(BatchMemberSchema),
    links: BatchLinksSchema,
  })
  .openapi('BatchAccepted');

const CountsSchema = z
  .object(
    Object.fromEntries(FILE_STATUSES.map((status) => [status, z.number().int()])) as Record<
      (typeof FILE_STATUSES)[number],
      z.ZodNumber
    >,
  )
  .openapi('BatchCounts', { description: 'Files of the batch per status' });

export const BatchSchema = z
  .object({
    id: z.string(),
    status: z.enum(BATCH_STATUSES).openapi({ description: 'PROCESSING until every file has a terminal status' }),
    fileCount: z.number().int().nullable(),
    counts: CountsSchema,
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    files: z.array(FileSchema).openapi({ description: 'A page of the batch’s files, newest first' }),
    nextCursor: z.string().nullable(),
    links: BatchLinksSchema,
  })
  .openapi('Batch');

export const createBatch = createRoute({
  method: 'post',
  path: '/',
  summary: 'Upload many files at once',
  description:
    '`multipart/form-data` with any number of `file` parts (at most INTAKE_MAX_BATCH_FILES, 1000 by default) and ' +
    'the optional `callbackUrl`, `retention`, `tags` and `schema` fields of a single upload, applied to every file ' +
    '(`schema` may be the query parameter `?schema=` instead). Each ' +
    'part streams to storage as it arrives and becomes a file with its own workflow; an empty or too large part ' +
    'becomes a REJECTED file, the others go on. The batch is DONE when every file has a terminal status, and ' +
    '`batch.completed` announces its counts. Example: ' +
    '`curl -H "Authorization: Bearer $KEY" -F file=@a.jpg -F file=@b.jpg http://localhost:3000/v1/batches`',
  security,
  request: {
    query: z.object({
      schema: z
        .string()
        .regex(SCHEMA_NAME_PATTERN, 'a schema name is 1-64 letters, digits, . _ - (starting with a letter or digit)')
        .optional()
        .openapi({
          description:
            "Every JSON file of the batch is validated against the tenant's JSON Schema of this name (the version " +
            'current now), as with the `schema` field; an unknown name is a 422 unknown_schema and no batch is ' +
            'created. Given with a `schema` field that names another schema, a 400 invalid_request',
          example: 'product',
        }),
    }),
    headers: z.object({
      'idempotency-key': z
        .string()
        .min(1)
        .max(255)
        .optional()
        .openapi({ description: 'Same key from the same tenant → the first batch is returned, nothing restarts' }),
    }),
    body: {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['file'],
            properties: {
              file: { type: 'array', items: { type: 'string', format: 'binary' } },
              callbackUrl: { type: 'string', ...HTTP_URL_DOC },
              retention: { type: 'string', example: '7d' },
              schema: { type: 'string', pattern: SCHEMA_NAME_PATTERN.source, example: 'product' },
              tags: {
                anyOf: [
                  { type: 'string', example: 'invoices,2026' },
                  { type: 'array', items: { type: 'string' } },
                ],
              },
            },
          },
        },
      },
    },
  },
  responses: {
    202: {
      description: 'Accepted: every file is stored and its workflow started',
      headers: { Location: { schema: { type: 'string' }, description: '/v1/batches/{id}' } },
      content: { 'application/json': { schema: BatchAcceptedSchema } },
    },
    ...errorResponses(400, 401, 413, 415, 422),
  },
});
export type CreateBatchRoute = typeof createBatch;

export const getBatch = createRoute({
  method: 'get',
  path: '/{id}',
  summary: "A batch's status, counts per status and a page of its files",
  security,
  request: {
    params: BatchIdParam,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(500).optional().openapi({ description: 'nextCursor from the previous page' }),
    }),
  },
  responses: {
    200: { description: 'The batch', content: { 'application/json': { schema: BatchSchema } } },
    ...errorResponses(400, 401, 404),
  },
});
export type GetBatchRoute = typeof getBatch;

export type BatchAccepted = z.infer<typeof BatchAcceptedSchema>;
export type BatchView = z.infer<typeof BatchSchema>;
