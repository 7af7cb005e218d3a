import { createRoute, z } from '@hono/zod-openapi';
import { getWebhookSecretInfo, rotateWebhookSecret } from '../prisma/tenants';
import { createRouter } from './context';
import { withDb } from './dependencies';
import { errorResponses } from './errors';

const security = [{ bearerAuth: [] }];

export const webhookSecret = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/',
      summary: "The tenant's webhook signing secret (whsec_…)",
      security,
      responses: {
        200: {
          description: 'The secret that signs every delivery',
          content: { 'application/json': { schema: z.object({ secret: z.string().openapi({ example: 'whsec_…' }) }) } },
        },
        ...errorResponses(401),
      },
    }),
    async (c) => {
      const info = await withDb(c, (db) => getWebhookSecretInfo(db, c.var.tenantId));
      return c.json({ secret: info.current }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/rotate',
      summary: 'Rotate the signing secret; deliveries carry both signatures for 24 hours',
      security,
      responses: {
        200: {
          description: 'The new secret and how long the previous one still signs',
          content: {
            'application/json': {
              schema: z.object({ secret: z.string(), previousValidUntil: z.string().nullable() }),
            },
          },
        },
        ...errorResponses(401),
      },
    }),
    async (c) => {
      const secret = await withDb(c, (db) => rotateWebhookSecret(db, c.var.tenantId));
      const info = await withDb(c, (db) => getWebhookSecretInfo(db, c.var.tenantId));
      c.var.log.info('webhook secret rotated');
      return c.json(
        { secret, previousValidUntil: info.previousExpiresAt ? info.previousExpiresAt.toISOString() : null },
        200,
      );
    },
  );
