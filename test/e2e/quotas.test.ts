import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/server';
import { freePort } from '../../infra/free-port';
import { startRedisServer, type RedisServer } from '../../infra/redis-server';
import { setTenantLimits } from '../../prisma/quotas';
import { storageKeys } from '../../lib/storage-keys';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * Quotas and rate limits on the real stack: two API processes' worth of apps sharing one real
 * redis-server (this file's own, so it can be stopped), usage reserved in the real Postgres, and
 * MinIO checked for what a refused upload left behind (nothing).
 */

const KEYS = {
  'quota-rps': 'quota-rps-key-0001',
  'quota-store': 'quota-store-key-0002',
  'quota-files': 'quota-files-key-0003',
  'quota-redis': 'quota-redis-key-0004',
  'quota-batch': 'quota-batch-key-0005',
} as const;
type Tenant = keyof typeof KEYS;

let redisDir: string;
let redis: RedisServer;
let intake: RunningIntake<Tenant>;
let second: RunningApi;
let png: Buffer;

beforeAll(async () => {
  redisDir = mkdtempSync(join(tmpdir(), 'intake-quotas-redis-'));
  redis = await startRedisServer({ dataDir: redisDir, port: await freePort() });
  intake = await startIntake({ tenants: KEYS, env: { REDIS_URL: redis.url } });
  // A second API process: its own app, limiter and Redis connection, the same Redis and Postgres.
  second = await startApi(intake.config);
  png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#36c' } })
    .png()
    .toBuffer();
}, 180_000);

afterAll(async () => {
  await second?.close();
  await intake?.stop();
  await redis?.stop();
  rmSync(redisDir, { recursive: true, force: true });
});

const auth = (tenant: Tenant) => ({ Authorization: `Bearer ${KEYS[tenant]}` });

function upload(base: string, tenant: Tenant, body: Buffer, options: { chunked?: boolean } = {}) {
  const headers = { ...auth(tenant), 'Content-Type': 'image/png' };
  const url = `${base}/v1/files?filename=pixel.png`;
  if (!options.chunked) return fetch(url, { method: 'POST', headers, body });
  // A stream body has no Content-Length: the size is known only once the bytes have arrived.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(body));
      controller.close();
    },
  });
  return fetch(url, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
}

async function tenantView(tenant: Tenant) {
  const response = await fetch(`${intake.api.url}/v1/tenant`, { headers: auth(tenant) });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    id: string;
    limits: { rps: number; uploads: number; storageBytes: number; files: number };
    usage: { storageBytes: number; files: number };
  };
}

async function errorOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe('rate limits', () => {
  it('answers 429 with Retry-After and RateLimit headers once a key spends its requests per second, across API processes', async () => {
    await setTenantLimits(intake.db, 'quota-rps', { rps: 3 });
    const get = (base: string) => fetch(`${base}/v1/tenant`, { headers: auth('quota-rps') });
    // The window is one second from its first request: if the four requests below straddle two
    // windows the last one is rightly let through, so the scenario runs again in a fresh window.
    let refused: Response | undefined;
    for (let attempt = 0; attempt < 5 && !refused; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const first = await Promise.all([get(intake.api.url), get(intake.api.url), get(intake.api.url)]);
      const last = await get(second.url);
      for (const response of first) {
        expect(response.status).toBe(200);
        expect(response.headers.get('ratelimit-policy')).toBe('"rps";q=3;w=1');
        expect(response.headers.get('ratelimit')).toMatch(/^"rps";r=[0-2];t=1$/);
      }
      if (last.status === 429) refused = last;
      else expect(last.status).toBe(200);
    }
    expect(refused, 'the second API process never saw the first one spend the window').toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.headers.get('ratelimit-policy')).toBe('"rps";q=3;w=1');
    expect(refused!.headers.get('ratelimit')).toMatch(/^"rps";r=0;t=1$/);
    const error = await errorOf(refused!);
    expect(error.code).toBe('rate_limited');
    expect(error.message).toContain('3 requests per second');
  }, 60_000);
});

describe('storage and file quotas', () => {
  it('refuses an upload over the storage quota with 403 before a byte is stored, sized or streamed', async () => {
    await setTenantLimits(intake.db, 'quota-store', { storageBytes: png.length - 1 });
    for (const chunked of [false, true]) {
      const response = await upload(chunked ? second.url : intake.api.url, 'quota-store', png, { chunked });
      expect(response.status, `chunked: ${chunked}`).toBe(403);
      const error = await errorOf(response);
      expect(error.code).toBe('quota_exceeded');
      expect(error.message).toContain(`0 of ${png.length - 1} bytes used`);
    }
    expect(await intake.objectsUnder(storageKeys.incoming('quota-store', ''))).toEqual([]);
    const view = await tenantView('quota-store');
    expect(view.usage).toEqual({ storageBytes: 0, files: 0 });
    expect(view.limits.storageBytes).toBe(png.length - 1);
  }, 60_000);

  it('counts files exactly under concurrent uploads, shows usage at GET /v1/tenant, and releases it on deletion', async () => {
    await setTenantLimits(intake.db, 'quota-files', { files: 2 });
    // Six uploads at once through both processes: exactly two fit.
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => upload(i % 2 ? second.url : intake.api.url, 'quota-files', png)),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 403, 403, 403, 403]);
    const refusedError = await errorOf(responses.find((r) => r.status === 403)!);
    expect(refusedError.code).toBe('quota_exceeded');
    expect(refusedError.message).toContain('2 of 2 files used');
    const accepted = await Promise.all(
      responses.filter((r) => r.status === 202).map(async (r) => ((await r.json()) as { id: string }).id),
    );
    const view = await tenantView('quota-files');
    expect(view.usage).toEqual({ storageBytes: 2 * png.length, files: 2 });
    expect(view.limits.files).toBe(2);
    // Only the two accepted uploads ever reached MinIO (incoming, or stored once processed).
    const stored = [
      ...(await intake.objectsUnder(storageKeys.incoming('quota-files', ''))),
      ...(await intake.objectsUnder('files/quota-files/')),
    ];
    for (const key of stored)
      expect(
        accepted.some((id) => key.includes(id)),
        key,
      ).toBe(true);

    const client = intake.clients['quota-files'];
    for (const id of accepted) await client.waitForFile(id);
    await client.deleteFile(accepted[0]!);
    await waitUntil('the deleted file to leave the quota', async () => {
      const usage = (await tenantView('quota-files')).usage;
      return usage.files === 1 ? usage : undefined;
    });
    expect((await tenantView('quota-files')).usage).toEqual({ storageBytes: png.length, files: 1 });
    expect((await upload(intake.api.url, 'quota-files', png)).status).toBe(202);
  }, 180_000);
  it('charges a batch for all its files at once or refuses it whole, and refuses a tus upload that cannot fit at its creation', async () => {
    await setTenantLimits(intake.db, 'quota-batch', { files: 2, storageBytes: 3 * png.length });
    const batch = (count: number) => {
      const form = new FormData();
      for (let i = 0; i < count; i++)
        form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), `p${i}.png`);
      return fetch(`${intake.api.url}/v1/batches`, { method: 'POST', headers: auth('quota-batch'), body: form });
    };
    const tooMany = await batch(3);
    expect(tooMany.status).toBe(403);
    expect((await errorOf(tooMany)).message).toContain('0 of 2 files used');
    expect(await intake.objectsUnder(storageKeys.incoming('quota-batch', ''))).toEqual([]);
    expect((await tenantView('quota-batch')).usage).toEqual({ storageBytes: 0, files: 0 });

    const fits = await batch(2);
    expect(fits.status).toBe(202);
    expect((await tenantView('quota-batch')).usage).toEqual({ storageBytes: 2 * png.length, files: 2 });

    // One more byte than is left: tus refuses the creation, before any PATCH sends a byte.
    const tus = await fetch(`${second.url}/v1/tus/`, {
      method: 'POST',
      headers: {
        ...auth('quota-batch'),
        'Tus-Resumable': '1.0.0',
        'Upload-Length': String(png.length + 1),
        'Upload-Metadata': `filename ${Buffer.from('big.png').toString('base64')}`,
      },
    });
    expect(tus.status).toBe(403);
    const error = await errorOf(tus);
    expect(error.code).toBe('quota_exceeded');
    expect(error.message).toContain('2 of 2 files used');
    expect((await tenantView('quota-batch')).usage).toEqual({ storageBytes: 2 * png.length, files: 2 });
  }, 120_000);
});

describe('intake tenants limits', () => {
  it('sets a tenant its own limits, parsed from sizes, and shows them with the usage', async () => {
    const cli = (...args: string[]) =>
      promisify(execFile)(
        join('node_modules', '.bin', 'tsx'),
        ['scripts/intake-cli.ts', 'tenants', 'limits', ...args],
        { env: { ...process.env, DATABASE_URL: intake.config.databaseUrl } },
      );
    const set = await cli('set', 'quota-redis', '--rps', '20', '--storage', '10GiB', '--files', '100000');
    expect(set.stdout).toContain('rps      20 per API key');
    expect(set.stdout).toContain('storage  0 B of 10 GiB');
    expect((await tenantView('quota-redis')).limits).toMatchObject({
      rps: 20,
      storageBytes: 10 * 2 ** 30,
      files: 100_000,
    });
    const reset = await cli('set', 'quota-redis', '--rps', 'default');
    expect(reset.stdout).toMatch(/rps {6}\d+ per API key \(default\)/);
    await expect(cli('set', 'quota-redis', '--storage', 'lots')).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});

describe('when Redis is down', () => {
  it('refuses uploads with 503 and Retry-After and still answers reads', async () => {
    await redis.stop();
    try {
      const refused = await upload(intake.api.url, 'quota-redis', png);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await errorOf(refused)).message).toContain('Redis');
      const direct = await fetch(`${second.url}/v1/uploads`, {
        method: 'POST',
        headers: { ...auth('quota-redis'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ filename: 'pixel.png', size: png.length }),
      });
      expect(direct.status).toBe(503);
      expect((await fetch(`${intake.api.url}/v1/tenant`, { headers: auth('quota-redis') })).status).toBe(200);
      expect((await fetch(`${second.url}/v1/files`, { headers: auth('quota-redis') })).status).toBe(200);
      expect(await intake.objectsUnder(storageKeys.incoming('quota-redis', ''))).toEqual([]);
    } finally {
      redis = await startRedisServer({ dataDir: redisDir, port: redis.port });
    }
  }, 60_000);
});
