import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from './context';
import { createRouter } from './context';
import { callDependency, type Dependency } from './dependencies';

/** Each readiness probe gets a short budget: a probe that hangs is a failing probe. */
const CHECK_TIMEOUT_MS = 2_000;

const CheckSchema = z.object({ ok: z.boolean(), ms: z.number().int(), error: z.string().optional() });
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ temporal: CheckSchema, s3: CheckSchema, postgres: CheckSchema, clamd: CheckSchema }),
    failing: z.array(z.string()).optional(),
    error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }).optional(),
  })
  .openapi('Readiness');

async function probe(dependency: Dependency, fn: (signal: AbortSignal) => Promise<unknown>) {
  const started = performance.now();
  try {
    await callDependency(dependency, fn, CHECK_TIMEOUT_MS);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

function readinessChecks(c: Context<AppEnv>) {
  const { temporal, s3, db, config, clamdPing } = c.var;
  return Promise.all([
    probe('Temporal', (signal) =>
      temporal.withAbortSignal(signal, () =>
        temporal.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
      ),
    ),
    probe('S3', (signal) => s3.send(new HeadBucketCommand({ Bucket: config.s3.bucket }), { abortSignal: signal })),
    probe('Postgres', () => db.$queryRawUnsafe('SELECT 1')),
    probe('clamd', () => clamdPing()),
  ]);
}

export const health = createRouter()
  .openapi(
    createRoute({
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
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: Temporal, S3, Postgres and clamd all answer (checked in parallel, 2 s each)',
      security: [],
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
        503: { description: 'A dependency is failing', content: { 'application/json': { schema: ReadySchema } } },
      },
    }),
    async (c) => {
      const [temporal, s3, postgres, clamd] = await readinessChecks(c);
      const checks = { temporal: temporal!, s3: s3!, postgres: postgres!, clamd: clamd! };
      const failing = Object.entries(checks)
        .filter(([, check]) => !check.ok)
        .map(([name]) => name);
      if (failing.length > 0) {
        c.var.log.warn({ checks }, 'not ready');
        const error = { code: 'not_ready', message: `Not ready: ${failing.join(', ')}`, requestId: c.var.requestId };
        return c.json({ status: 'unavailable' as const, checks, failing, error }, 503);
      }
      return c.json({ status: 'ready' as const, checks }, 200);
    },
  );
