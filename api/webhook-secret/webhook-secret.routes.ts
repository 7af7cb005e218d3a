import { createRoute, z } from '@hono/zod-openapi';
import { BEARER_SECURITY, errorResponses } from '../errors';

const security = BEARER_SECURITY;

export const readSigningSecret = createRoute({
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
});
export type ReadSigningSecretRoute = typeof readSigningSecret;

export const rotateSigningSecret = createRoute({
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
});
export type RotateSigningSecretRoute = typeof rotateSigningSecret;
