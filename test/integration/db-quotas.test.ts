import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../common/task-queues';
import { loadConfig } from '../../config/env';
import { newFileId } from '../../lib/ids';
import { createDb, type Db } from '../../prisma/db';
import { deleteRow, failIfProcessing, insertProcessing, mirrorState, tombstone } from '../../prisma/files';
import { applyMigrations } from '../../prisma/migrate';
import { QuotaExceededError, releaseReservation, reserveUpload, tenantUsage } from '../../prisma/quotas';
import { ensureTenant } from '../../prisma/tenants';

const config = loadConfig();
const tenant = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
let db: Db;

beforeAll(async () => {
  await applyMigrations(config.databaseUrl);
  db = createDb(config.databaseUrl, { poolSize: 8 });
});
afterAll(async () => {
  await db?.$disconnect();
});

const usage = async (tenantId: string) => {
  const { storedBytes, files } = await tenantUsage(db, tenantId);
  return { storedBytes, files };
};

async function chargedRow(tenantId: string, bytes: number): Promise<string> {
  await reserveUpload(db, tenantId, { storageBytes: 1e12, files: 1e6 }, bytes);
  const id = newFileId();
  await insertProcessing(db, {
    id,
    tenantId,
    workflowId: workflowIdFor(id),
    filename: 'a.png',
    declaredContentType: null,
    tags: [],
    callbackUrl: null,
    idempotencyKey: null,
    storageKey: null,
    size: bytes,
    retentionMs: 60_000,
    chargedBytes: bytes,
  });
  return id;
}

describe('quota usage', () => {
  it('lets exactly as many concurrent reservations through as fit, and names use and limit for the rest', async () => {
    const t = tenant('quota-race');
    await ensureTenant(db, t);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => reserveUpload(db, t, { storageBytes: 500, files: 1000 }, 100)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refusal = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refusal.reason).toBeInstanceOf(QuotaExceededError);
    expect((refusal.reason as Error).message).toBe(
      'Storage quota exceeded: 500 of 500 bytes used; this upload needs 100',
    );
    expect(await usage(t)).toEqual({ storedBytes: 500, files: 5 });
    await releaseReservation(db, t, 100);
    expect(await usage(t)).toEqual({ storedBytes: 400, files: 4 });
  });

  it("releases a file's charge exactly once, whichever of deletion, rejection, failure or undo comes", async () => {
    const t = tenant('quota-release');
    await ensureTenant(db, t);
    const [deleted, rejected, failed, undone, ready] = [
      await chargedRow(t, 10),
      await chargedRow(t, 20),
      await chargedRow(t, 30),
      await chargedRow(t, 40),
      await chargedRow(t, 50),
    ];
    expect(await usage(t)).toEqual({ storedBytes: 150, files: 5 });

    await Promise.all([tombstone(db, deleted!, 'requested'), tombstone(db, deleted!, 'requested')]);
    await mirrorState(db, { id: rejected!, tenantId: t }, { filename: 'a.png', size: 20n, status: 'REJECTED' });
    await mirrorState(db, { id: rejected!, tenantId: t }, { filename: 'a.png', size: 20n, status: 'REJECTED' });
    await failIfProcessing(db, failed!, 'interrupted');
    await deleteRow(db, undone!);
    await mirrorState(db, { id: ready!, tenantId: t }, { filename: 'a.png', size: 50n, status: 'READY' });
    await tombstone(db, deleted!, 'requested');

    expect(await usage(t)).toEqual({ storedBytes: 50, files: 1 });
  });
});
