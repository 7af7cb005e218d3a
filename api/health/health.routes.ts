import { createRoute, z } from '@hono/zod-openapi';
import { RETRY_AFTER_HEADER } from '../errors';

const CheckSchema = z.object({ ok: z.boolean(), ms: z.number().int(), error: z.string().optional() });
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ temporal: CheckSchema, s3: CheckSchema, postgres: CheckSchema, clamd: CheckSchema }),
    failing: z.array(z.string()).optional(),
    error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }).optional(),
  })
  .openapi('Readiness');

export const liveness = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness: the process answers',
  // The document's default is bearer auth; probes need none, and the spec must say so.
  security: [],
  responses: {
    200: {
      description: 'Alive',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
    },
  },
});
export type LivenessRoute = typeof liveness;

export const readiness = createRoute({
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: Temporal, S3, Postgres and clamd all answer (checked in parallel, 2 s each)',
  security: [],
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
    503: {
      description: 'A dependency is failing',
      headers: RETRY_AFTER_HEADER,
      content: { 'application/json': { schema: ReadySchema } },
    },
  },
});
export type ReadinessRoute = typeof readiness;
