import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleOnChange } from '../../api/files/long-poll';
import { workflowIdFor } from '../../common/task-queues';
import { loadConfig } from '../../config/env';
import { newFileId } from '../../lib/ids';
import { createDb, type Db } from '../../prisma/db';
import { createFileChanges, type FileChanges } from '../../prisma/file-changes';
import { findTenantFile } from '../../prisma/file-records';
import { insertProcessing } from '../../prisma/files';
import { applyMigrations } from '../../prisma/migrate';
import { ensureTenant } from '../../prisma/tenants';

const config = loadConfig();
const tenantId = `wake-${randomUUID().slice(0, 8)}`;
const log = pino({ level: 'silent' });
let db: Db;

async function processingFile(): Promise<string> {
  const id = newFileId();
  await insertProcessing(db, {
    id,
    tenantId,
    workflowId: workflowIdFor(id),
    filename: 'wait.jpg',
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
 * `count` PROCESSING files, returned once the listener has heard each one's insert: the trigger
 * notifies on insert too, and a notification still in flight when a waiter subscribes would wake it
 * once more than the test counts.
 */
async function heardFiles(changes: FileChanges, count: number): Promise<string[]> {
  const heard = new Set<string>();
  let all!: () => void;
  const done = new Promise<void>((resolve) => (all = resolve));
  const ids: string[] = [];
  const stop = changes.subscribeAll((_tenant, id) => {
    heard.add(id);
    if (ids.length === count && ids.every((each) => heard.has(each))) all();
  });
  try {
    for (let i = 0; i < count; i++) ids.push(await processingFile());
    if (ids.every((each) => heard.has(each))) all();
    await done;
    return ids;
  } finally {
    stop();
  }
}

/** A long-poll on a real row whose every read is counted: the only reads are the ones it makes. */
function wait(changes: FileChanges, id: string) {
  let reads = 0;
  let firstRead!: () => void;
  const started = new Promise<void>((resolve) => (firstRead = resolve));
  const answer = settleOnChange({
    changes,
    tenantId,
    id,
    read: async () => {
      const row = await findTenantFile(db, tenantId, id);
      reads += 1;
      firstRead();
      return row!;
    },
    settled: (row) => row.status !== 'PROCESSING',
    deadline: Date.now() + 10 * 60_000,
  });
  return { answer, started, reads: () => reads };
}

const finish = (id: string) => db.file.update({ where: { id }, data: { status: 'READY', completedAt: new Date() } });

beforeAll(async () => {
  await applyMigrations(config.databaseUrl);
  db = createDb(config.databaseUrl, { poolSize: 2 });
  await ensureTenant(db, tenantId);
});
afterAll(async () => {
  await db?.$disconnect();
});

describe('long-polls woken by Postgres NOTIFY', () => {
  it('answers the final state when the file finishes, having read only before and after the change', async () => {
    const changes = createFileChanges({ databaseUrl: config.databaseUrl, log });
    try {
      await changes.listening();
      const [id, other] = (await heardFiles(changes, 2)) as [string, string];
      const waiter = wait(changes, id);
      await waiter.started;
      // Another file's change wakes nobody waiting on this one.
      await db.file.update({ where: { id: other }, data: { steps: { scan: 'done' } } });
      await finish(id);
      const row = await waiter.answer;
      expect(row.status).toBe('READY');
      expect(waiter.reads()).toBe(2);
      expect(changes.stats.waiters).toBe(0);
    } finally {
      await changes.close();
    }
  });

  it('still delivers the final state when the LISTEN connection is killed and the NOTIFY is lost', async () => {
    const changes = createFileChanges({ databaseUrl: config.databaseUrl, log });
    try {
      await changes.listening();
      const id = await processingFile();
      const waiter = wait(changes, id);
      await waiter.started;
      const killed = await db.$queryRaw<{ n: number }[]>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE application_name = 'intake-file-changes' AND datname = current_database()`;
      expect(killed[0]!.n).toBeGreaterThan(0);
      // Committed while nobody listens: only the listener's resync on reconnect can tell the waiter.
      await finish(id);
      const row = await waiter.answer;
      expect(row.status).toBe('READY');
      await changes.listening();
      expect(changes.stats.connections).toBeGreaterThanOrEqual(2);
    } finally {
      await changes.close();
    }
  });

  it('answers every waiter with the current state when the API shuts down', async () => {
    const changes = createFileChanges({ databaseUrl: config.databaseUrl, log });
    await changes.listening();
    const ids = await heardFiles(changes, 2);
    const waiters = ids.map((id) => wait(changes, id));
    await Promise.all(waiters.map((waiter) => waiter.started));
    await changes.close();
    const rows = await Promise.all(waiters.map((waiter) => waiter.answer));
    expect(rows.map((row) => [row.id, row.status])).toEqual(ids.map((id) => [id, 'PROCESSING']));
    expect(waiters.map((waiter) => waiter.reads())).toEqual([2, 2]);
  });
});
