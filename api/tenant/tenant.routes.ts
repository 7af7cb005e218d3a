import { createRoute, z } from '@hono/zod-openapi';
import { BEARER_SECURITY, errorResponses } from '../errors';

const Limits = z
  .object({
    rps: z.number().int().openapi({ description: 'Requests per second per API key', example: 20 }),
    uploads: z.number().int().openapi({ description: 'Uploads streaming through the API at once', example: 8 }),
    storageBytes: z.number().int().openapi({ description: 'Bytes stored', example: 10737418240 }),
    files: z.number().int().openapi({ description: 'Files stored', example: 100000 }),
  })
  .openapi('TenantLimits');

const Usage = z
  .object({
    storageBytes: z.number().int().openapi({ description: 'Bytes held by files not deleted, rejected or failed' }),
    files: z.number().int().openapi({ description: 'Files counted the same way' }),
  })
  .openapi('TenantUsage');

export const TenantSchema = z
  .object({
    id: z.string().openapi({ example: 'acme' }),
    limits: Limits,
    usage: Usage,
  })
  .openapi('Tenant');

export const readTenant = createRoute({
  method: 'get',
  path: '/',
  summary: "The API key's tenant: its limits and current usage",
  security: BEARER_SECURITY,
  responses: {
    200: { description: 'Limits and usage', content: { 'application/json': { schema: TenantSchema } } },
    ...errorResponses(401),
  },
});
export type ReadTenantRoute = typeof readTenant;
