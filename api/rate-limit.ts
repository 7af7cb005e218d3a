import type { Context, MiddlewareHandler } from 'hono';
import type { LimitState } from '../lib/request-limiter';
import { ApiError, RETRY_AFTER_SECONDS } from './errors';
import type { AppEnv } from './types';

/*
 * Requests per second per API key, and the tenant's concurrent uploads, counted in Redis so every API
 * process shares them. When Redis cannot answer, reads (and every other request that stores nothing)
 * go through uncounted: a limiter outage must not take the API down. Uploads are refused with a 503
 * instead, since letting them through unmetered is how one tenant fills the disks for all.
 */

const TUS_UPLOAD = /^\/v1\/tus(\/[^/]+)?$/;

/** The requests that store bytes (or sign URLs to store them): refused when Redis is down. */
function isUpload(c: Context<AppEnv>): boolean {
  const path = c.req.path.replace(/\/$/, '');
  if (c.req.method === 'PATCH') return TUS_UPLOAD.test(path);
  if (c.req.method !== 'POST') return false;
  return (
    path === '/v1/files' ||
    path === '/v1/batches' ||
    path === '/v1/uploads' ||
    TUS_UPLOAD.test(path) ||
    /^\/v1\/uploads\/[^/]+\/complete$/.test(path)
  );
}

/**
 * Uploads whose bytes stream through this process and hold one of the tenant's upload slots meanwhile:
 * a file, a batch, or one tus PATCH (or a creation that carries bytes).
 */
function isStreamedUpload(c: Context<AppEnv>): boolean {
  const path = c.req.path.replace(/\/$/, '');
  if (c.req.method === 'PATCH') return TUS_UPLOAD.test(path);
  return c.req.method === 'POST' && (path === '/v1/files' || path === '/v1/batches' || TUS_UPLOAD.test(path));
}

/** The IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  const seconds = Math.max(1, Math.ceil(state.resetMs / 1000));
  return {
    'RateLimit-Policy': `"rps";q=${state.limit};w=1`,
    RateLimit: `"rps";r=${state.remaining};t=${seconds}`,
  };
}

const redisDown = () =>
  new ApiError('dependency_unavailable', 'Redis (rate limits and upload slots) is unavailable; retry later', {
    'Retry-After': RETRY_AFTER_SECONDS,
  });

export const limitRequests: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { limits, limiter } = c.var;
  const upload = isUpload(c);
  let state: LimitState | undefined;
  try {
    state = await limiter.hit(c.var.apiKeyId, limits.rps);
  } catch (error) {
    if (upload) {
      c.var.log.warn({ err: error }, 'Redis unavailable: upload refused');
      throw redisDown();
    }
    c.var.log.warn({ err: error }, 'Redis unavailable: request let through without a rate limit');
  }
  if (state && !state.allowed) {
    throw new ApiError('rate_limited', `More than ${limits.rps} requests per second with this API key`, {
      ...rateLimitHeaders(state),
      'Retry-After': String(Math.max(1, Math.ceil(state.resetMs / 1000))),
    });
  }

  let slot: Awaited<ReturnType<typeof limiter.acquireUploadSlot>> | undefined;
  if (isStreamedUpload(c)) {
    try {
      slot = await limiter.acquireUploadSlot(c.var.tenantId, limits.uploads);
    } catch (error) {
      c.var.log.warn({ err: error }, 'Redis unavailable: upload refused');
      throw redisDown();
    }
    if (slot === null) {
      throw new ApiError('rate_limited', `More than ${limits.uploads} uploads at once for this tenant`, {
        'Retry-After': '1',
        ...(state ? rateLimitHeaders(state) : {}),
      });
    }
  }
  try {
    await next();
  } finally {
    await slot?.release().catch((error: unknown) => c.var.log.warn({ err: error }, 'could not release an upload slot'));
  }
  if (state) {
    try {
      for (const [name, value] of Object.entries(rateLimitHeaders(state))) c.res.headers.set(name, value);
    } catch {
      // Responses streamed from S3 may carry immutable headers; they go without the advisory fields.
    }
  }
};
