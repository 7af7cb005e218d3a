import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/*
 * Rate limits and upload slots in Redis, so every API process counts against the same windows.
 * rate-limiter-flexible does the counting (atomic INCR + PEXPIRE per window); nothing here is Lua.
 */

export interface LimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets (or, refused, until a retry can succeed). */
  resetMs: number;
}

export interface UploadSlot {
  release(): Promise<void>;
}

export interface RequestLimiter {
  /** Counts one request of an API key against its requests-per-second limit. Throws when Redis is down. */
  hit(keyId: string, rps: number): Promise<LimitState>;
  /** Takes one of the tenant's concurrent-upload slots, or null when all are taken. Throws when Redis is down. */
  acquireUploadSlot(tenantId: string, limit: number): Promise<UploadSlot | null>;
  close(): Promise<void>;
}

/** Upload slots expire after this long, so a process that died mid-upload cannot hold one forever. */
const UPLOAD_SLOT_TTL_S = 3600;

/** `onError` hears connection failures (ioredis reconnects by itself); throttled by the caller if needed. */
export function createRedisClient(url: string, onError: (error: Error) => void = () => undefined): Redis {
  const client = new Redis(url, {
    // A command while disconnected fails at once instead of queueing: the API answers fast (open or
    // closed) rather than waiting for Redis to come back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // Without a listener ioredis prints every failed reconnect as an unhandled error event.
  client.on('error', onError);
  return client;
}

export function createRequestLimiter(redis: Redis): RequestLimiter {
  const rpsLimiters = new Map<number, RateLimiterRedis>();
  const slotLimiters = new Map<number, RateLimiterRedis>();
  const limiterFor = (cache: Map<number, RateLimiterRedis>, prefix: string, points: number, duration: number) => {
    let limiter = cache.get(points);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `intake:${prefix}`,
        points,
        duration,
        rejectIfRedisNotReady: true,
      });
      cache.set(points, limiter);
    }
    return limiter;
  };

  return {
    async hit(keyId, rps) {
      const limiter = limiterFor(rpsLimiters, 'rps', rps, 1);
      try {
        const res = await limiter.consume(keyId);
        return { allowed: true, limit: rps, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) {
          return { allowed: false, limit: rps, remaining: 0, resetMs: refusal.msBeforeNext };
        }
        throw refusal;
      }
    },
    async acquireUploadSlot(tenantId, limit) {
      const limiter = limiterFor(slotLimiters, 'uploads', limit, UPLOAD_SLOT_TTL_S);
      try {
        await limiter.consume(tenantId);
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) return null;
        throw refusal;
      }
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await limiter.reward(tenantId);
        },
      };
    },
    async close() {
      redis.disconnect();
    },
  };
}
