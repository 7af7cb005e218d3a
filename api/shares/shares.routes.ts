import { createRoute, z } from '@hono/zod-openapi';
import { DURATION_WITH_UNIT_PATTERN } from '../../common/durations';
import { BEARER_SECURITY, errorResponses } from '../errors';
import { DownloadHeaders, downloadResponses } from '../files/files.routes';
import { ID_PARAM_PATTERN } from '../upload-fields';

/* Share links: made and listed under /v1/files/{id}/shares with a key, used at /s/{token} without one. */

const security = BEARER_SECURITY;
const idParam = (name: string, what: string, example: string) =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(ID_PARAM_PATTERN, `not a ${what} id`)
    .openapi({ param: { name, in: 'path' }, example });
const FileIdParam = z.object({ id: idParam('id', 'file', 'f_3kq7w2mz5c4xv6b7n8p2r4t5') });

export const ShareLinkSchema = z
  .object({
    id: z.string().openapi({ example: 's_p3x7w2mz5c4xv6b7n8p2r4t5' }),
    fileId: z.string(),
    rendition: z.string().nullable().openapi({ description: 'The rendition it serves; null for the original' }),
    expiresAt: z.string(),
    maxDownloads: z.number().int().nullable(),
    downloads: z.number().int().openapi({ description: 'Downloads served (every GET that sent bytes)' }),
    status: z.enum(['active', 'expired', 'used_up', 'revoked']),
    revokedAt: z.string().nullable(),
    revokedReason: z
      .string()
      .nullable()
      .openapi({ description: 'requested, or the deletion of the file (expired, requested)' }),
    createdAt: z.string(),
  })
  .openapi('ShareLink');

export const CreatedShareLinkSchema = ShareLinkSchema.extend({
  url: z.string().openapi({
    description: 'The link itself, shown only in this answer (only its hash is stored)',
    example: 'http://localhost:3000/s/Vf3…',
  }),
}).openapi('CreatedShareLink');

export const createShare = createRoute({
  method: 'post',
  path: '/{id}/shares',
  summary: 'Make a share link that serves the file (or a rendition) without an API key',
  description:
    'Only READY files can be shared (409 otherwise). The link answers 410 once it expires, its downloads are ' +
    'used up, it is revoked, or the file is deleted.',
  security,
  request: {
    params: FileIdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              expiresIn: z
                .string()
                .regex(DURATION_WITH_UNIT_PATTERN, 'must be a duration with a unit, such as 24h')
                .openapi({ example: '24h', description: 'At most INTAKE_SHARE_MAX_EXPIRY (30d by default)' }),
              rendition: z
                .string()
                .regex(/^[a-z][a-z0-9_-]{0,31}$/)
                .optional()
                .openapi({ example: 'thumb' }),
              maxDownloads: z.number().int().min(1).max(1_000_000).optional(),
            })
            .strict()
            .openapi('ShareLinkRequest'),
        },
      },
    },
  },
  responses: {
    201: { description: 'The link', content: { 'application/json': { schema: CreatedShareLinkSchema } } },
    ...errorResponses(400, 401, 404, 409, 410, 413, 415),
  },
});
export type CreateShareRoute = typeof createShare;

export const listShares = createRoute({
  method: 'get',
  path: '/{id}/shares',
  summary: "The file's share links, newest first (without their tokens)",
  security,
  request: { params: FileIdParam },
  responses: {
    200: {
      description: 'The links',
      content: { 'application/json': { schema: z.object({ items: z.array(ShareLinkSchema) }) } },
    },
    ...errorResponses(400, 401, 404),
  },
});
export type ListSharesRoute = typeof listShares;

export const revokeShare = createRoute({
  method: 'delete',
  path: '/{id}/shares/{shareId}',
  summary: 'Revoke a share link: it answers 410 from now on',
  security,
  request: { params: FileIdParam.extend({ shareId: idParam('shareId', 'share link', 's_p3x7w2mz5c4xv6b7n8p2r4t5') }) },
  responses: {
    204: { description: 'Revoked (revoking a revoked link changes nothing)' },
    ...errorResponses(400, 401, 404),
  },
});
export type RevokeShareRoute = typeof revokeShare;

export const useShare = createRoute({
  method: 'get',
  path: '/{token}',
  summary: 'Download through a share link (no API key)',
  description:
    'Always an attachment, with X-Content-Type-Options: nosniff; Range and If-None-Match as every download. ' +
    'Every GET that sends bytes counts towards maxDownloads (a 304 or a HEAD does not).',
  security: [],
  request: {
    params: z.object({
      token: z
        .string()
        .min(1)
        .max(64)
        .regex(ID_PARAM_PATTERN, 'not a share token')
        .openapi({ param: { name: 'token', in: 'path' } }),
    }),
    headers: DownloadHeaders,
  },
  responses: {
    ...downloadResponses('The shared bytes'),
    ...errorResponses(400, 404, 410, 416),
  },
});
export type UseShareRoute = typeof useShare;
