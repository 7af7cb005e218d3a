import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexedNames } from '../../activities/index-file';
import { decodeFileCursor, encodeFileCursor } from '../../api/files/file-cursor';
import { workflowIdFor } from '../../common/task-queues';
import { loadConfig } from '../../config/env';
import { newFileId } from '../../lib/ids';
import { createDb, type Db } from '../../prisma/db';
import { listTenantFiles, type ListFilter } from '../../prisma/file-records';
import { insertProcessing, tombstone, updateSearchVector } from '../../prisma/files';
import { applyMigrations } from '../../prisma/migrate';
import { ensureTenant } from '../../prisma/tenants';

const config = loadConfig();
const tenantId = `search-${randomUUID().slice(0, 8)}`;
let db: Db;

/** A file indexed as the index step indexes it: names, tags and text content. */
async function file(filename: string, more: { content?: string; tags?: string[]; createdAt?: Date } = {}) {
  const id = newFileId();
  const tags = more.tags ?? [];
  await insertProcessing(db, {
    id,
    tenantId,
    workflowId: workflowIdFor(id),
    filename,
    declaredContentType: null,
    tags,
    callbackUrl: null,
    idempotencyKey: null,
    storageKey: null,
    size: 1,
    retentionMs: 60_000,
    ...(more.createdAt ? { createdAt: more.createdAt } : {}),
  });
  await updateSearchVector(db, id, {
    names: indexedNames(filename),
    tags: tags.join(' '),
    content: more.content ?? '',
  });
  return id;
}

const names = async (filter: ListFilter) =>
  (await listTenantFiles(db, tenantId, filter)).map((row) => row.filename).sort();

/** Every page of a listing, following nextCursor as a client does (through the cursor's JSON form). */
async function allPages(filter: Omit<ListFilter, 'cursor' | 'limit'>, pageSize: number) {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const rows = await listTenantFiles(db, tenantId, {
      ...filter,
      limit: pageSize + 1,
      cursor: cursor ? decodeFileCursor(cursor, { ranked: filter.q !== undefined }) : undefined,
    });
    const page = rows.slice(0, pageSize);
    pages.push(page.map((row) => row.id));
    cursor = rows.length > pageSize ? encodeFileCursor(page.at(-1)!) : undefined;
  } while (cursor);
  return pages;
}

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
    await file('invoice.pdf', { content: 'quarterly totals' });
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
    expect((await listTenantFiles(db, tenantId, { limit: 100 })).map((row) => row.id)).not.toContain(gone);
    expect((await listTenantFiles(db, tenantId, { status: 'DELETED', limit: 100 })).map((r) => r.id)).toEqual([gone]);
  });

  it('ranks a whole word of the name above a prefix, an infix, a tag and a word of the text, whatever their age', async () => {
    // Oldest first, so newest-first order would be the reverse of the ranked one.
    const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 0, minutes));
    await file('sunflower-field.jpg', { createdAt: at(1) });
    await file('flowers-in-may.jpg', { createdAt: at(2) });
    await file('wildflowers.png', { createdAt: at(3) });
    await file('IMG_0042.jpg', { tags: ['flower'], createdAt: at(4) });
    await file('notes.txt', { content: 'buy a flower for mum', createdAt: at(5) });
    await file('flower.jpg', { createdAt: at(0) });
    const ranked = await listTenantFiles(db, tenantId, { q: 'flower', limit: 10 });
    expect(ranked.map((row) => row.filename)).toEqual([
      'flower.jpg',
      'flowers-in-may.jpg',
      'sunflower-field.jpg',
      'wildflowers.png',
      'IMG_0042.jpg',
      'notes.txt',
    ]);
    const ranks = ranked.map((row) => row.rank!);
    expect(ranks.slice(1).map((rank, i) => [rank, rank < ranks[i]!])).toEqual(ranks.slice(1).map((r) => [r, true]));
  });

  it('pages through ranked results returning every match exactly once, in the order of one big page', async () => {
    // Equal ranks (the same name) and equal instants: the tie-breakers (createdAt, id) must hold too.
    const same = new Date(Date.UTC(2026, 1, 1));
    const ids = [
      ...(await Promise.all(Array.from({ length: 7 }, () => file('ledger.csv', { createdAt: same })))),
      ...(await Promise.all(Array.from({ length: 5 }, (_, i) => file(`ledger-${i}.csv`)))),
      ...(await Promise.all(Array.from({ length: 4 }, (_, i) => file(`old-ledgers-${i}.txt`, { createdAt: same })))),
      await file('accounts.txt', { content: 'see the ledger' }),
      await file('q1.xlsx', { tags: ['ledger'] }),
    ];
    await file('unrelated.jpg');
    const whole = (await listTenantFiles(db, tenantId, { q: 'ledger', limit: 100 })).map((row) => row.id);
    expect([...whole].sort()).toEqual([...ids].sort());
    for (const pageSize of [1, 3, 5]) {
      const pages = await allPages({ q: 'ledger' }, pageSize);
      expect(pages.flat()).toEqual(whole);
      expect(pages.every((page) => page.length <= pageSize)).toBe(true);
    }
  });

  it('keeps newest-first order without q and refuses a cursor of the other kind', async () => {
    const listed = (await listTenantFiles(db, tenantId, { limit: 100 })).map((row) => row.id);
    expect((await allPages({}, 7)).flat()).toEqual(listed);
    const [first] = await listTenantFiles(db, tenantId, { q: 'ledger', limit: 1 });
    expect(() => decodeFileCursor(encodeFileCursor(first!))).toThrow(/cursor/);
    expect(() => decodeFileCursor(encodeFileCursor({ ...first!, rank: undefined }), { ranked: true })).toThrow(
      /cursor/,
    );
  });
});
