import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { createDb, isRetryableDbError, type Db } from '../../prisma/db';
import { applyMigrations } from '../../prisma/migrate';

const config = loadConfig();

/** A port nothing listens on: bound, noted, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('isRetryableDbError on real database errors', () => {
  let db: Db;

  beforeAll(async () => {
    await applyMigrations(config.databaseUrl);
    db = createDb(config.databaseUrl, { poolSize: 2 });
  });
  afterAll(async () => {
    await db.$disconnect();
  });

  it('an unreachable server is retryable', async () => {
    const url = new URL(config.databaseUrl);
    url.port = String(await closedPort());
    const down = createDb(url.toString(), { connectTimeoutMs: 2_000 });
    try {
      const error = await errorOf(down.tenant.count());
      expect(isRetryableDbError(error)).toBe(true);
    } finally {
      await down.$disconnect();
    }
  });

  it('a statement timeout is retryable', async () => {
    const error = await errorOf(
      db.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL statement_timeout = '50ms'`);
        await tx.$queryRawUnsafe('SELECT pg_sleep(1)');
      }),
    );
    expect(isRetryableDbError(error)).toBe(true);
  });

  it('a unique constraint violation is not retryable', async () => {
    const id = `dup-${randomUUID()}`;
    await db.tenant.create({ data: { id, webhookSecret: 'whsec_x' } });
    const error = await errorOf(db.tenant.create({ data: { id, webhookSecret: 'whsec_y' } }));
    expect(error).toMatchObject({ code: 'P2002' });
    expect(isRetryableDbError(error)).toBe(false);
  });

  it('a foreign key violation and plain programming errors are not retryable', async () => {
    const error = await errorOf(
      db.apiKey.create({
        data: { id: randomUUID(), tenantId: `missing-${randomUUID()}`, keyHash: randomUUID(), prefix: 'ik_' },
      }),
    );
    expect(isRetryableDbError(error)).toBe(false);
    expect(isRetryableDbError(new TypeError('x is undefined'))).toBe(false);
    expect(isRetryableDbError(undefined)).toBe(false);
  });
});
