import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileView } from '../../api/client';
import { workflowIdFor } from '../../common/task-queues';
import { newFileId } from '../../lib/ids';
import type { ReconcileReport } from '../../cli/operator/reconcile-files';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * Disaster recovery on the real stack, through the CLI as an operator runs it: upload, `intake backup
 * now`, upload and delete more, lose the database, `intake backup restore`, `intake reconcile`. The
 * files, their statuses and tenants (and the tenants' usage) are what they were before the loss;
 * uploads keep working; a retention timer set before the backup still deletes its file. Intake runs on
 * a database of its own here, so dropping it touches no other test's rows.
 */

const A = 'dr-e2e-alpha';
const B = 'dr-e2e-beta';
const TENANTS = { [A]: 'dr-e2e-alpha-key-0001', [B]: 'dr-e2e-beta-key-0001' } as const;
const BIN = join(process.cwd(), 'bin', 'intake.mjs');
/** Long enough to outlast uploads, backup, loss and restore on a slow machine; short enough to wait for. */
const EXPIRING_RETENTION = '75s';

let intake: RunningIntake<typeof A | typeof B>;
let admin: pg.Client;
const databases: string[] = [];

/** A fresh database on the test stack's PostgreSQL, as a URL. */
async function createDatabase(): Promise<string> {
  const name = `dr_${newFileId().replaceAll('-', '').slice(0, 12)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  databases.push(name);
  return Object.assign(new URL(process.env.DATABASE_URL ?? ''), { pathname: `/${name}` }).toString();
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const databaseUrl = await createDatabase();
  intake = await startIntake({ tenants: TENANTS, env: { DATABASE_URL: databaseUrl, INTAKE_RETENTION_MIN: '1s' } });
});

afterAll(async () => {
  await intake?.stop();
  for (const name of databases)
    await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  await admin?.end();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `intake …args` in a child process, on this test's database; fails the test on a non-zero exit. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: intake.config.databaseUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`intake ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

const cliJson = async <T>(args: string[], env?: Record<string, string>): Promise<T> =>
  JSON.parse((await cli(args, env)).stdout) as T;

async function upload(tenant: typeof A | typeof B, name: string, retention = '1h'): Promise<string> {
  const { id } = await intake.clients[tenant].uploadFile(`${name}: ${newFileId()}\n`, {
    filename: name,
    contentType: 'text/plain',
    retention,
  });
  return id;
}

async function ready(tenant: typeof A | typeof B, id: string): Promise<FileView> {
  const file = await intake.clients[tenant].waitForFile(id, 90_000);
  expect(file.status).toBe('READY');
  return file;
}

/** What a tenant's file list says about each file, tombstones included. */
async function filesOf(tenant: typeof A | typeof B) {
  const client = intake.clients[tenant];
  const [live, deleted] = await Promise.all([
    client.listFiles({ limit: 100 }),
    client.listFiles({ status: 'DELETED', limit: 100 }),
  ]);
  return Object.fromEntries(
    [...live.items, ...deleted.items].map((file) => [
      file.id,
      {
        status: file.status,
        filename: file.filename,
        contentType: file.contentType,
        size: file.size,
        sha256: file.sha256,
      },
    ]),
  );
}

async function usageOf(tenant: string) {
  return intake.db.tenant.findUniqueOrThrow({ where: { id: tenant }, select: { storedBytes: true, fileCount: true } });
}

describe('backup, loss, restore and reconcile', () => {
  it(
    'brings back every file, status and tenant, keeps uploads working and the retention timers running',
    { timeout: 300_000 },
    async () => {
      // Before the backup: files of both tenants, an image with renditions, and one that expires soon.
      const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#3366cc' } })
        .png()
        .toBuffer();
      const image = (
        await intake.clients[A].uploadFile(new Uint8Array(png), { filename: 'photo.png', contentType: 'image/png' })
      ).id;
      const before = [
        image,
        await upload(A, 'a1.txt'),
        await upload(A, 'a2.txt'),
        await upload(B, 'b1.txt'),
        await upload(B, 'b2.txt'),
      ];
      const expiring = await upload(A, 'expiring.txt', EXPIRING_RETENTION);
      for (const id of [...before.slice(0, 3), expiring]) await ready(A, id);
      for (const id of before.slice(3)) await ready(B, id);

      const backup = await cliJson<{ id: string; sizeBytes: number }>(['backup', 'now']);
      expect(backup.sizeBytes).toBeGreaterThan(0);

      // After the backup: new uploads, and a deletion whose workflow finishes (closed, not running).
      const after = [await upload(A, 'a3.txt'), await upload(A, 'a4.txt'), await upload(B, 'b3.txt')];
      for (const id of after.slice(0, 2)) await ready(A, id);
      await ready(B, after[2]!);
      // And a batch made after the backup: its row is rebuilt from its own workflow, its files point at it.
      const batch = await intake.clients[A].createBatch([
        { body: `batch one ${newFileId()}\n`, filename: 'batch-1.txt', contentType: 'text/plain' },
        { body: `batch two ${newFileId()}\n`, filename: 'batch-2.txt', contentType: 'text/plain' },
      ]);
      const batchView = await waitUntil(
        'the batch to be DONE',
        async () => {
          const view = await intake.clients[A].getBatch(batch.id);
          return view.status === 'DONE' ? view : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      const deleted = before[4]!;
      await intake.clients[B].deleteFile(deleted);
      await waitUntil(
        'the deleted file\u2019s workflow to complete',
        async () =>
          (await intake.temporal.workflow.getHandle(workflowIdFor(deleted)).describe()).status.name === 'COMPLETED'
            ? true
            : undefined,
        { timeoutMs: 60_000 },
      );

      const lost = { [A]: await filesOf(A), [B]: await filesOf(B) };
      expect(lost[B][deleted]?.status).toBe('DELETED');
      expect(lost[A][expiring]?.status).toBe('READY');
      const usageBefore = { [A]: await usageOf(A), [B]: await usageOf(B) };

      // The loss: workers down, the database's schema gone with every table (the Backup records too).
      await intake.stopWorkers();
      const target = new pg.Client({ connectionString: intake.config.databaseUrl });
      await target.connect();
      await target.query('DROP SCHEMA public CASCADE');
      await target.query('DROP SCHEMA IF EXISTS analytics CASCADE');
      await target.query('CREATE SCHEMA public');

      const restored = await cliJson<{ backup: string; rowCounts: Record<string, number> }>([
        'backup',
        'restore',
        backup.id,
      ]);
      expect(restored.backup).toBe(backup.id);
      // The backup has the files uploaded before it, not those after.
      const ids = (
        await target.query<{ id: string }>('SELECT id FROM "File" WHERE "tenantId" = ANY($1)', [[A, B]])
      ).rows.map((r) => r.id);
      expect(ids.sort()).toEqual([...before, expiring].sort());
      // As a backup taken while a file was still being processed has it: PROCESSING, not yet stored.
      const midway = before[1]!;
      await target.query(
        `UPDATE "File" SET status = 'PROCESSING', "completedAt" = NULL, "expiresAt" = NULL, "storageKey" = NULL WHERE id = $1`,
        [midway],
      );
      await target.end();

      await intake.startWorkers();
      const report = await cliJson<ReconcileReport>(['reconcile', '--tenant', A, B]);
      expect(report).toMatchObject({
        found: 11,
        created: 5,
        updated: 2,
        unchanged: 4,
        batches: { found: 1, created: 1, completed: 0, unchanged: 0 },
        unreadable: [],
        objectsWithoutFile: [],
      });
      expect(await intake.clients[A].getBatch(batch.id)).toEqual(batchView);

      // Identical to before the loss: the files, their statuses and facts, per tenant, and the usage.
      expect(await filesOf(A)).toEqual(lost[A]);
      expect(await filesOf(B)).toEqual(lost[B]);
      expect({ [A]: await usageOf(A), [B]: await usageOf(B) }).toEqual(usageBefore);
      const midwayRow = await intake.db.file.findUniqueOrThrow({ where: { id: midway } });
      expect(midwayRow.storageKey).toBe(`files/${A}/${midway}/original`);
      expect(await (await intake.clients[A].download(after[0]!)).text()).toMatch(/^a3\.txt: /);
      expect((await intake.clients[A].getFile(image)).renditions.length).toBeGreaterThan(0);

      // Safe to run again: nothing left to change.
      const again = await cliJson<ReconcileReport>(['reconcile', '--tenant', A, B]);
      expect(again).toMatchObject({
        found: 11,
        created: 0,
        updated: 0,
        unchanged: 11,
        batches: { found: 1, created: 0, completed: 0, unchanged: 1 },
        unreadable: [],
      });

      // Uploads keep working on the restored database.
      const fresh = await upload(B, 'b4.txt');
      await ready(B, fresh);
      expect((await filesOf(B))[fresh]?.status).toBe('READY');

      // The timer the expiring file's workflow set before the backup still fires and deletes every byte.
      await waitUntil(
        'the expiring file to be deleted by its retention timer',
        async () => ((await intake.clients[A].getFile(expiring)).status === 'DELETED' ? true : undefined),
        { timeoutMs: 150_000, intervalMs: 500 },
      );
      expect(await intake.objectsUnder(`files/${A}/${expiring}/`)).toEqual([]);
      expect(await intake.db.file.findUniqueOrThrow({ where: { id: expiring } })).toMatchObject({
        deletionReason: 'expired',
        storageKey: null,
      });
    },
  );

  it('takes a backup during continuous uploads that completes and restores', { timeout: 240_000 }, async () => {
    const accepted: { id: string; at: number }[] = [];
    let stop = false;
    const uploader = async () => {
      for (let n = 0; !stop; n++) {
        const id = await upload(B, `stream-${n}.txt`);
        accepted.push({ id, at: Date.now() });
      }
    };
    const uploaders = [uploader(), uploader()];
    await waitUntil('the first uploads to be accepted', () => (accepted.length >= 4 ? true : undefined));
    const startedAt = Date.now();
    const backup = await cliJson<{ id: string; sizeBytes: number }>(['backup', 'now']);
    const finishedAt = Date.now();
    stop = true;
    await Promise.all(uploaders);
    expect(backup.sizeBytes).toBeGreaterThan(0);
    const duringBackup = accepted.filter((file) => file.at > startedAt && file.at < finishedAt);
    expect(duringBackup.length).toBeGreaterThan(0);

    const into = await createDatabase();
    const restored = await cliJson<{ backup: string; rowCounts: Record<string, number> }>([
      'backup',
      'restore',
      backup.id,
      '--into',
      into,
    ]);
    expect(restored.backup).toBe(backup.id);
    const copy = new pg.Client({ connectionString: into });
    await copy.connect();
    try {
      const rows = (await copy.query<{ id: string }>('SELECT id FROM "File" WHERE "tenantId" = $1', [B])).rows;
      const inCopy = new Set(rows.map((row) => row.id));
      // Every upload accepted before the backup began is in it (its row is written before the 202).
      for (const file of accepted.filter((f) => f.at < startedAt)) expect(inCopy.has(file.id)).toBe(true);
      expect(restored.rowCounts.File).toBe(
        Number((await copy.query<{ n: string }>('SELECT count(*) AS n FROM "File"')).rows[0]?.n),
      );
    } finally {
      await copy.end();
    }
    // The uploads made while the backup ran were processed normally.
    for (const file of duringBackup) await ready(B, file.id);
  });
});
