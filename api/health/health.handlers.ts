import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Context } from 'hono';
import { callDependency, type Dependency } from '../dependencies';
import { RETRY_AFTER_SECONDS } from '../errors';
import type { AppEnv, AppRouteHandler } from '../types';
import type * as routes from './health.routes';

/** Each readiness probe gets a short budget: a probe that hangs is a failing probe. */
const CHECK_TIMEOUT_MS = 2_000;

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

export const liveness: AppRouteHandler<routes.LivenessRoute> = (c) => c.json({ status: 'ok' as const }, 200);

export const readiness: AppRouteHandler<routes.ReadinessRoute> = async (c) => {
  const [temporal, s3, postgres, clamd] = await readinessChecks(c);
  const checks = { temporal: temporal!, s3: s3!, postgres: postgres!, clamd: clamd! };
  const failing = Object.entries(checks)
    .filter(([, check]) => !check.ok)
    .map(([name]) => name);
  if (failing.length > 0) {
    c.var.log.warn({ checks }, 'not ready');
    const error = { code: 'not_ready', message: `Not ready: ${failing.join(', ')}`, requestId: c.var.requestId };
    c.header('Retry-After', RETRY_AFTER_SECONDS);
    return c.json({ status: 'unavailable' as const, checks, failing, error }, 503);
  }
  return c.json({ status: 'ready' as const, checks }, 200);
};
