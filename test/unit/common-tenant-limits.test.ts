import { describe, expect, it } from 'vitest';
import { BUILT_IN_LIMITS, formatByteSize, parseByteSize, parseLimit, parseLimitList } from '../../common/tenant-limits';
import { ConfigError, loadConfig } from '../../config/env';
import { rateLimitHeaders } from '../../api/rate-limit';

describe('tenant limits', () => {
  it('reads sizes in binary and decimal units', () => {
    expect(parseByteSize('10GiB')).toBe(10 * 2 ** 30);
    expect(parseByteSize('500MB')).toBe(500_000_000);
    expect(parseByteSize('1.5 KiB')).toBe(1536);
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize('10 parsecs')).toBeUndefined();
    expect(parseByteSize('-1GiB')).toBeUndefined();
    expect(formatByteSize(10 * 2 ** 30)).toBe('10 GiB');
    expect(formatByteSize(512)).toBe('512 B');
  });

  it('reads a limit list over the built-in limits and names what is wrong', () => {
    expect(parseLimitList('rps=20, storage=10GiB,files=100000', BUILT_IN_LIMITS)).toEqual({
      ...BUILT_IN_LIMITS,
      rps: 20,
      storageBytes: 10 * 2 ** 30,
      files: 100_000,
    });
    expect(() => parseLimitList('speed=3', BUILT_IN_LIMITS)).toThrow(/rps, uploads, storage, files/);
    expect(() => parseLimit('rps', '0')).toThrow(/at least 1/);
    expect(() => parseLimit('storage', 'lots')).toThrow(/10GiB/);
  });

  it('takes INTAKE_DEFAULT_LIMITS and REDIS_URL from the environment, refusing bad values', () => {
    const config = loadConfig({ INTAKE_DEFAULT_LIMITS: 'rps=5,uploads=2', REDIS_URL: 'redis://cache:6379/0' });
    expect(config.defaultLimits).toEqual({ ...BUILT_IN_LIMITS, rps: 5, uploads: 2 });
    expect(config.redis.url).toBe('redis://cache:6379/0');
    expect(loadConfig({}).defaultLimits).toEqual(BUILT_IN_LIMITS);
    expect(() => loadConfig({ INTAKE_DEFAULT_LIMITS: 'rps=fast' })).toThrow(ConfigError);
    expect(() => loadConfig({ INTAKE_DEFAULT_LIMITS: 'rps=fast' })).toThrow(/INTAKE_DEFAULT_LIMITS: rps must be/);
    expect(() => loadConfig({ REDIS_URL: 'cache:6379' })).toThrow(/REDIS_URL: must be a redis:\/\//);
  });

  it('writes the IETF RateLimit fields with whole seconds to reset', () => {
    expect(rateLimitHeaders({ allowed: true, limit: 20, remaining: 7, resetMs: 420 })).toEqual({
      'RateLimit-Policy': '"rps";q=20;w=1',
      RateLimit: '"rps";r=7;t=1',
    });
  });
});
