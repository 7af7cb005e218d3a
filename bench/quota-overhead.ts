// The cost of the rate limiter and what a hot-metadata cache in the same Redis could save, measured in
// one run on the embedded stack: `npx tsx bench/quota-overhead.ts` (about a minute). Figures are
// ratios of medians taken side by side, never absolute thresholds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workflowIdFor } from '../common/task-queues';
import { startStack } from '../infra/stack';
import { createRedisClient, createRequestLimiter } from '../lib/request-limiter';
import { newFileId } from '../lib/ids';
import { createDb } from '../prisma/db';
import { findTenantFile } from '../prisma/file-records';
import { insertProcessing } from '../prisma/files';
import { applyMigrations } from '../prisma/migrate';
import { findTenantByApiKey, seedApiKeys } from '../prisma/tenants';
import { median, round } from './stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 500);

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up: connections, prepared plans
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'intake-bench-quota-'));
  const stack = await startStack({ dataDir, ephemeral: true, log: () => undefined });
  try {
    await applyMigrations(stack.env.DATABASE_URL);
    const db = createDb(stack.env.DATABASE_URL, { poolSize: 2 });
    const redis = createRedisClient(stack.env.REDIS_URL);
    const limiter = createRequestLimiter(redis);
    await seedApiKeys(db, [{ tenant: 'bench', key: 'bench-key-0001' }]);
    const id = newFileId();
    await insertProcessing(db, {
      id,
      tenantId: 'bench',
      workflowId: workflowIdFor(id),
      filename: 'a.jpg',
      declaredContentType: 'image/jpeg',
      tags: [],
      callbackUrl: null,
      idempotencyKey: null,
      storageKey: null,
      size: 1000,
      retentionMs: 86_400_000,
    });
    const row = await findTenantFile(db, 'bench', id);
    await redis.set(
      `bench:file:${id}`,
      JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    );

    const auth = median(await timed(() => findTenantByApiKey(db, 'bench-key-0001')));
    const fileRead = median(await timed(() => findTenantFile(db, 'bench', id)));
    const cacheRead = median(await timed(() => redis.get(`bench:file:${id}`)));
    const limiterHit = median(await timed(() => limiter.hit('bench-key', 1_000_000)));
    const figures = {
      rounds: ROUNDS,
      authP50Ms: round(auth, 3),
      limiterP50Ms: round(limiterHit, 3),
      fileRowP50Ms: round(fileRead, 3),
      redisGetP50Ms: round(cacheRead, 3),
      limiterOverAuth: round(limiterHit / auth, 2),
      redisGetOverFileRow: round(cacheRead / fileRead, 2),
    };
    console.log(JSON.stringify(figures, null, 2));
    await limiter.close();
    await db.$disconnect();
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
