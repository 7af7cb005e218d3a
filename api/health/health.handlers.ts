import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'hono';
import { S3EncryptionRefused } from '../../lib/s3-encryption';
import { callDependency, type Dependency } from '../dependencies';
import { ApiError, RETRY_AFTER_SECONDS } from '../errors';
import type { AppEnv, AppRouteHandler } from '../types';
import type * as routes from './health.routes';

/** Each readiness probe gets a short budget: a probe that hangs is a failing probe. */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * /readyz answers anyone, so a failing check names the dependency and how it fails, never the raw
 * error (which can carry internal host names, ports and credentials); the log keeps the detail.
 */
async function probe(c: Context<AppEnv>, dependency: Dependency, fn: (signal: AbortSignal) => Promise<unknown>) {
  const started = performance.now();
  try {
    await callDependency(dependency, fn, CHECK_TIMEOUT_MS);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    c.var.log.warn({ dependency, err: error }, 'readiness check failed');
    // callDependency's own errors (unavailable, timed out) are written for clients; others are not.
    const said = error instanceof ApiError ? error.message : `${dependency} answered with an error`;
    return { ok: false, ms: Math.round(performance.now() - started), error: said };
  }
}

/** Where /readyz writes its probe object; no sweep or retention step looks under it. */
export const READINESS_PROBE_KEY = 'readyz/encryption-probe';

/**
 * The bucket answers, and takes an object with the configured encryption: a store without a KMS, or a
 * KMS without the key, accepts HeadBucket and every read but refuses each upload, so only a write tells.
 */
async function checkS3(c: Context<AppEnv>, signal: AbortSignal): Promise<void> {
  const { s3, config } = c.var;
  await s3.send(new HeadBucketCommand({ Bucket: config.s3.bucket }), { abortSignal: signal });
  if (config.s3.encryption.mode === 'none') return;
  try {
    await s3.send(new PutObjectCommand({ Bucket: config.s3.bucket, Key: READINESS_PROBE_KEY, Body: 'ok' }), {
      abortSignal: signal,
    });
  } catch (error) {
    if (!(error instanceof S3EncryptionRefused)) throw error;
    c.var.log.error({ err: error }, 'S3 refuses to encrypt objects as configured');
    throw new ApiError(
      'dependency_unavailable',
      `S3 refuses server-side encryption ${error.mode} (S3_SSE): the store needs a KMS with the configured key`,
    );
  }
}

/** Every dependency's check, run together; /readyz and each /metrics scrape (intake_dependency_up) use it. */
export async function readinessChecks(c: Context<AppEnv>) {
  const { temporal, db, config, clamdPing } = c.var;
  const [temporalCheck, s3, postgres, clamd] = await Promise.all([
    probe(c, 'Temporal', (signal) =>
      temporal.withAbortSignal(signal, () =>
        temporal.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
      ),
    ),
    probe(c, 'S3', (signal) => checkS3(c, signal)),
    probe(c, 'Postgres', () => db.$queryRawUnsafe('SELECT 1')),
    probe(c, 'clamd', () => clamdPing()),
  ]);
  return { temporal: temporalCheck!, s3: s3!, postgres: postgres!, clamd: clamd! };
}

export const liveness: AppRouteHandler<routes.LivenessRoute> = (c) => c.json({ status: 'ok' as const }, 200);

export const readiness: AppRouteHandler<routes.ReadinessRoute> = async (c) => {
  const checks = await readinessChecks(c);
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
