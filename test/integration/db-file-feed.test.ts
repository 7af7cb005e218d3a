import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFileFeed, type FileChange, type FileFeed } from '../../api/file-events/file-feed';
import { workflowIdFor } from '../../common/task-queues';
import { loadConfig } from '../../config/env';
import { newFileId } from '../../lib/ids';
import { createDb, type Db } from '../../prisma/db';
import { createFileChanges, type FileChanges } from '../../prisma/file-changes';
import { insertProcessing } from '../../prisma/files';
import { applyMigrations } from '../../prisma/migrate';
import { ensureTenant } from '../../prisma/tenants';

/* The event streams' feed on the real Postgres LISTEN/NOTIFY listener: it reads when a row changes, never on a timer. */

const config = loadConfig();
const tenantId = `feed-${randomUUID().slice(0, 8)}`;
const otherTenantId = `feed-${randomUUID().slice(0, 8)}`;
const log = pino({ level: 'silent' });
let db: Db;
/** Every query the feed sends through its Db, counted apart from the feed's own figure. */
let queries = 0;

/** No worker answers: the feed's status queries find nobody, as with the workers stopped. */
const temporal = {
  workflow: { getHandle: () => ({ query: async () => Promise.reject(new Error('no worker')) }) },
  withAbortSignal: (_signal: AbortSignal, fn: () => Promise<unknown>) => fn(),
} as unknown as Client;

/** The Db the feed gets: the same client, with each call on `db.file` counted. */
function countingDb(real: Db): Db {
  const file = new Proxy(real.file, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        queries += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return new Proxy(real, { get: (target, property) => (property === 'file' ? file : Reflect.get(target, property)) });
}

async function processingFile(tenant = tenantId): Promise<string> {
  const id = newFileId();
  await insertProcessing(db, {
    id,
    tenantId: tenant,
    workflowId: workflowIdFor(id),
    filename: 'feed.jpg',
    declaredContentType: null,
    tags: [],
    callbackUrl: null,
    idempotencyKey: null,
    storageKey: null,
    size: 1,
    retentionMs: 60_000,
  });
  return id;
}

/**
 * Notifications the listener heard, per file: the stack is shared with other test files, whose
 * leftovers may notify too, so only a file's own count says anything about it.
 */
let heardOf = new Map<string, number>();
/** Waits until the listener has heard of the file (its insert), so that notification is not still on its way. */
const heard = (id: string) =>
  vi.waitFor(() => expect(heardOf.get(id) ?? 0).toBeGreaterThanOrEqual(1), { timeout: 5_000 });

const finish = (id: string) => db.file.update({ where: { id }, data: { status: 'READY', completedAt: new Date() } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A watcher of the tenant: every change it receives, and a way to wait for one. */
function watch(feed: FileFeed) {
  const received: FileChange[] = [];
  const unsubscribe = feed.subscribe(tenantId, (change) => received.push(change));
  const arrival = (id: string, status: string) =>
    vi.waitFor(
      () => {
        const change = received.find((c) => c.file.id === id && c.file.status === status);
        if (!change) throw new Error(`no ${status} event for ${id} yet`);
        return change;
      },
      { timeout: 15_000, interval: 5 },
    );
  return { received, unsubscribe, arrival };
}

let changes: FileChanges;
let feed: FileFeed;

beforeAll(async () => {
  await applyMigrations(config.databaseUrl);
  db = createDb(config.databaseUrl, { poolSize: 3 });
  await ensureTenant(db, tenantId);
  await ensureTenant(db, otherTenantId);
});
afterEach(async () => {
  feed?.close();
  await changes?.close();
});
afterAll(async () => {
  await db?.$disconnect();
});

async function startFeed() {
  changes = createFileChanges({ databaseUrl: config.databaseUrl, log });
  heardOf = new Map();
  changes.subscribeAll((_tenant, id, reason) => {
    if (reason === 'changed') heardOf.set(id, (heardOf.get(id) ?? 0) + 1);
  });
  await changes.listening();
  queries = 0;
  feed = createFileFeed({ db: countingDb(db), temporal, config, log, changes, intervalMs: 100 });
}

describe('the event feed on the Postgres listener', () => {
  it("pushes a change another connection commits to the tenant's watcher, with one read", async () => {
    await startFeed();
    const id = await processingFile();
    await heard(id);
    const watcher = watch(feed);
    // The tenant's files processing, and the first re-check once the listener is known to listen.
    await vi.waitFor(() => expect(feed.reads).toBe(2));
    const other = await processingFile(otherTenantId);
    await finish(other);
    const committed = Date.now();
    await finish(id);
    const change = await watcher.arrival(id, 'READY');
    const latencyMs = Date.now() - committed;
    console.info(`feed: READY pushed ${latencyMs} ms after the commit`);
    expect(latencyMs).toBeLessThan(1_000);
    expect(change.id).toMatch(new RegExp(`^\\d+_${id}$`));
    // Another tenant's changes cost no read: one query, for this file's notification.
    await sleep(200);
    expect(feed.reads).toBe(3);
    expect(queries).toBe(feed.reads);
    expect(watcher.received.filter((c) => c.file.id === id && c.file.status === 'READY')).toHaveLength(1);
    expect(watcher.received.some((c) => c.file.id === other)).toBe(false);
    watcher.unsubscribe();
  });

  it('sends a change made by plain SQL that leaves updatedAt alone, on an old row', async () => {
    await startFeed();
    const id = await processingFile();
    await heard(id);
    // An hour-old row (updatedAt is not a trigger column: this notifies nobody).
    await db.$executeRaw`UPDATE "File" SET "updatedAt" = now() - interval '1 hour' WHERE id = ${id}`;
    const watcher = watch(feed);
    await vi.waitFor(() => expect(feed.reads).toBe(2));
    // As an operator (or the waiters bench) would write it: the status, and nothing else.
    await db.$executeRaw`UPDATE "File" SET status = 'READY', "completedAt" = now() WHERE id = ${id}`;
    const change = await watcher.arrival(id, 'READY');
    const row = await db.file.findUniqueOrThrow({ where: { id } });
    expect(change.id).toBe(`${row.updatedAt.getTime()}_${id}`);
    expect(feed.reads).toBe(3);
    watcher.unsubscribe();
  });

  it('sends no query at all while nothing changes, however many watch', async () => {
    await startFeed();
    const id = await processingFile();
    await heard(id);
    const watchers = Array.from({ length: 100 }, () => watch(feed));
    await vi.waitFor(() => expect(feed.reads).toBe(2));
    const before = queries;
    await sleep(3_000);
    console.info(`feed: ${queries - before} queries in 3 s idle with 100 watchers and a file processing`);
    expect(queries - before).toBe(0);
    expect(feed.reads).toBe(2);
    for (const watcher of watchers) watcher.unsubscribe();
  });

  it('still sends a change committed while its listener backend was killed, by one re-read on reconnect', async () => {
    await startFeed();
    const id = await processingFile();
    await heard(id);
    const watcher = watch(feed);
    await vi.waitFor(() => expect(feed.reads).toBe(2));
    const connections = changes.stats.connections;
    const heardBefore = heardOf.get(id);
    // One transaction waits for the listener's backend to be gone (pg_terminate_backend with a timeout)
    // and commits the change right after, long before the listener's first reconnect (100 ms): its
    // NOTIFY is sent while nobody listens, so only the re-read after the reconnect can find it.
    await db.$transaction(async (tx) => {
      const killed = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity
        WHERE application_name = 'intake-file-changes' AND datname = current_database()`;
      expect(killed[0]!.n).toBeGreaterThan(0);
      await tx.file.update({ where: { id }, data: { status: 'READY', completedAt: new Date() } });
    });
    const change = await watcher.arrival(id, 'READY');
    const row = await db.file.findUniqueOrThrow({ where: { id } });
    expect(change.id).toBe(`${row.updatedAt.getTime()}_${id}`);
    expect(changes.stats.connections).toBeGreaterThan(connections);
    expect(heardOf.get(id)).toBe(heardBefore);
    await sleep(200);
    // The loss and the reconnect both ask for a resync; one re-read answers both.
    expect(feed.reads).toBe(3);
    expect(watcher.received.filter((c) => c.file.id === id && c.file.status === 'READY')).toHaveLength(1);
    watcher.unsubscribe();
  });
});
