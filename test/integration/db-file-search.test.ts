import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../common/task-queues';
import { loadConfig } from '../../config/env';
import { newFileId } from '../../lib/ids';
import { createDb, type Db } from '../../prisma/db';
import { listTenantFiles } from '../../prisma/file-records';
import { insertProcessing, tombstone, updateSearchVector } from '../../prisma/files';
import { applyMigrations } from '../../prisma/migrate';
import { ensureTenant } from '../../prisma/tenants';

const config = loadConfig();
const tenantId = `search-${randomUUID().slice(0, 8)}`;
let db: Db;

async function file(filename: string, content = ''): Promise<string> {
  const id = newFileId();
  await insertProcessing(db, {
    id,
    tenantId,
    workflowId: workflowIdFor(id),
    filename,
    declaredContentType: null,
    tags: [],
    callbackUrl: null,
    idempotencyKey: null,
    storageKey: null,
    size: 1,
    retentionMs: 60_000,
  });
  await updateSearchVector(db, id, { names: filename, tags: '', content });
  return id;
}

const names = async (filter: Parameters<typeof listTenantFiles>[2]) =>
  (await listTenantFiles(db, tenantId, filter)).map((row) => row.filename).sort();

beforeAll(async () => {
  await applyMigrations(config.databaseUrl);
  db = createDb(config.databaseUrl, { poolSize: 2 });
  await ensureTenant(db, tenantId);
});
afterAll(async () => {
  await db?.$disconnect();
});

describe('file search', () => {
  it('finds a file by the start or the middle of its name, and by a whole word of its text', async () => {
    await file('holiday.jpg');
    await file('our-holidays-2026.png');
    await file('invoice.pdf', 'quarterly totals');
    expect(await names({ q: 'holi', limit: 10 })).toEqual(['holiday.jpg', 'our-holidays-2026.png']);
    expect(await names({ q: 'iday', limit: 10 })).toEqual(['holiday.jpg', 'our-holidays-2026.png']);
    expect(await names({ q: 'quarterly', limit: 10 })).toEqual(['invoice.pdf']);
  });

  it('takes % and _ in a search literally', async () => {
    await file('100%_done.txt');
    expect(await names({ q: '%_', limit: 10 })).toEqual(['100%_done.txt']);
  });

  it('leaves deleted tombstones out of a listing unless status=DELETED is asked for', async () => {
    const gone = await file('gone-tombstone.txt');
    await tombstone(db, gone, 'deleted');
    expect(await names({ q: 'tombstone', limit: 10 })).toEqual([]);
    expect(await names({ q: 'tombstone', status: 'DELETED', limit: 10 })).toEqual(['gone-tombstone.txt']);
  });
});
