import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure, Client, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../cli/operator/backup-admin';
import { createBackupActivities } from '../../activities/backup-database';
import { FailureTypes } from '../../common/failures';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { dataConverterFor } from '../../lib/data-converter';
import { findBackup } from '../../prisma/backups';
import { BACKUP_SCHEDULE_ID, ensureBackupSchedule } from '../../workers/backup-schedule';
import { createWorkers } from '../../workers/create-worker';
import type { BackupResult } from '../../workflows/backup-workflow';
import { backupDatabaseWorkflow } from '../../workflows/index';
import {
  createTenant,
  exists,
  getObject,
  newFileId,
  openActivityStack,
  runActivity,
  type ActivityStack,
} from './activities-stack';

/*
 * Backups on the real stack (PostgreSQL 18, set-up's pg_dump/pg_restore 18, MinIO, Temporal): the
 * workflow streams a verified custom-format archive to S3, encrypted, records it, and prunes past
 * `keep`; a missing tool fails the backup with a reason; the schedule follows INTAKE_BACKUP_SCHEDULE.
 */

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed in this process: keep that one.
}

let stack: ActivityStack;
let connection: NativeConnection;
let client: Client;
let workers: Worker[];
let running: Promise<unknown>;

beforeAll(async () => {
  stack = await openActivityStack();
  connection = await NativeConnection.connect({ address: stack.config.temporal.address });
  const dataConverter = dataConverterFor(stack.config);
  client = new Client({ connection, namespace: stack.config.temporal.namespace, dataConverter });
  workers = await createWorkers({
    connection,
    namespace: stack.config.temporal.namespace,
    dataConverter,
    kind: 'general',
    activities: stack.activities,
    backupActivities: createBackupActivities({ config: stack.config, s3: stack.s3, db: stack.db }),
    shutdownGraceTime: '1 second',
  });
  running = Promise.all(workers.map((w) => w.run()));
});

afterAll(async () => {
  await client?.schedule
    .getHandle(BACKUP_SCHEDULE_ID)
    .delete()
    .catch(() => undefined);
  for (const w of workers ?? []) if (w.getState() === 'RUNNING') w.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
  await stack?.close();
});

function backup(keep?: number): Promise<BackupResult> {
  return client.workflow.execute(backupDatabaseWorkflow, {
    taskQueue: GENERAL_TASK_QUEUE,
    workflowId: `backup-test-${newFileId()}`,
    args: [keep === undefined ? {} : { keep }],
  });
}

describe('database backups', () => {
  it('streams a verified, encrypted pg_dump archive to S3 and records its size, sha256 and version', async () => {
    const result = await backup();
    expect(result.key).toBe(`backups/${result.id}.dump`);
    const bytes = await getObject(stack, result.key);
    // A custom-format archive starts with PGDMP; the record describes exactly these bytes.
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    expect(result.sizeBytes).toBe(bytes.length);
    expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(result.postgresVersion).toMatch(/^18\./);
    expect(result.tocEntries).toBeGreaterThan(20);
    const head = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.config.s3.bucket, Key: result.key }));
    expect(head.ServerSideEncryption).toBe('AES256');

    const row = await findBackup(stack.db, result.id);
    expect(row).toMatchObject({ status: 'COMPLETED', sha256: result.sha256, sizeBytes: BigInt(bytes.length) });
    expect(row?.completedAt).toBeInstanceOf(Date);
  });

  it('uploads an archive of several S3 parts whole, and verifies it', { timeout: 120_000 }, async () => {
    // Random bytes do not compress, so pg_dump's archive of this database is about 40 MB: three 16 MiB parts.
    const database = `backup_big_${newFileId().replaceAll('-', '').slice(0, 12)}`;
    const admin = new pg.Client({ connectionString: stack.config.databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const databaseUrl = Object.assign(new URL(stack.config.databaseUrl), { pathname: `/${database}` }).toString();
    try {
      const big = new pg.Client({ connectionString: databaseUrl });
      await big.connect();
      try {
        await big.query('CREATE TABLE blob (id int PRIMARY KEY, bytes bytea NOT NULL)');
        for (let i = 0; i < 40; i++) await big.query('INSERT INTO blob VALUES ($1, $2)', [i, randomBytes(1 << 20)]);
      } finally {
        await big.end();
      }
      const activities = createBackupActivities({
        config: { ...stack.config, databaseUrl },
        s3: stack.s3,
        db: stack.db,
      });
      const backupId = `bk_big_${newFileId().replaceAll('-', '')}`;
      const record = await runActivity(activities.backupDatabase, { backupId });
      const bytes = await getObject(stack, record.key);
      expect(bytes.length).toBeGreaterThan(32 * 1024 * 1024);
      expect(record.sizeBytes).toBe(bytes.length);
      expect(record.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(record.tocEntries).toBeGreaterThanOrEqual(3);
      expect(await findBackup(stack.db, backupId)).toMatchObject({
        status: 'COMPLETED',
        sizeBytes: BigInt(bytes.length),
      });
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('keeps the newest `keep` completed backups and deletes the older archives', async () => {
    const first = await backup();
    const second = await backup();
    const third = await backup(2);
    expect(third.pruned).toContain(first.id);
    expect(third.pruned).not.toContain(second.id);
    const completed = await stack.db.backup.findMany({ where: { status: 'COMPLETED' }, orderBy: { startedAt: 'asc' } });
    expect(completed.map((row) => row.id)).toEqual([second.id, third.id]);
    expect((await findBackup(stack.db, first.id))?.status).toBe('PRUNED');
    expect(await exists(stack, first.key)).toBe(false);
    expect(await exists(stack, third.key)).toBe(true);
  });

  it('fails a backup whose pg_dump is missing with a reason, and leaves no archive', async () => {
    const config = { ...stack.config, backup: { ...stack.config.backup, pgBinDir: '/nonexistent/pg/bin' } };
    const activities = createBackupActivities({ config, s3: stack.s3, db: stack.db });
    const backupId = `bk_missing_${newFileId().replaceAll('-', '')}`;
    const failure = await runActivity(activities.backupDatabase, { backupId }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: FailureTypes.BackupToolUnusable, nonRetryable: true });
    expect((failure as Error).message).toMatch(/\/nonexistent\/pg\/bin\/pg_dump not found.*INTAKE_PG_BIN_DIR/);
    await runActivity(activities.markBackupFailed, { backupId, error: (failure as Error).message });
    expect(await findBackup(stack.db, backupId)).toMatchObject({ status: 'FAILED', error: (failure as Error).message });
    expect(await exists(stack, `backups/${backupId}.dump`)).toBe(false);
  });

  it('refuses to keep fewer than one backup', async () => {
    const error = await backup(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause?.message).toBe('keep must be at least 1 (the backup just taken)');
  });
});

describe('intake backup restore', () => {
  it('restores into an empty database, migrated, refuses a non-empty one unless --force', async () => {
    const marker = `restore-${newFileId().slice(0, 8)}`;
    await createTenant(stack.db, marker);
    const taken = await backup();

    const database = `restore_${newFileId().replaceAll('-', '').slice(0, 12)}`;
    const admin = new pg.Client({ connectionString: stack.config.databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const into = Object.assign(new URL(stack.config.databaseUrl), { pathname: `/${database}` }).toString();
    try {
      const report = await restoreBackup(taken.id, { into });
      expect(report.backup.id).toBe(taken.id);
      expect(report.rowCounts.Tenant).toBeGreaterThanOrEqual(1);
      const target = new pg.Client({ connectionString: into });
      await target.connect();
      try {
        const tenants = await target.query('SELECT id FROM "Tenant" WHERE id = $1', [marker]);
        expect(tenants.rows).toEqual([{ id: marker }]);
        const fileCount = await target.query<{ n: string }>('SELECT count(*) AS n FROM "File"');
        expect(Number(fileCount.rows[0]!.n)).toBe(report.rowCounts.File);
      } finally {
        await target.end();
      }

      await expect(restoreBackup(taken.id, { into })).rejects.toThrow(
        /is not empty \(\d+ tables or views in schemas public and analytics\); pass --force/,
      );
      const forced = await restoreBackup(taken.id, { into, force: true });
      expect(forced.rowCounts).toEqual(report.rowCounts);
      await expect(restoreBackup('bk_nope', { into })).rejects.toThrow('No backup bk_nope');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('the backup schedule', () => {
  it('is created at INTAKE_BACKUP_SCHEDULE, left alone when unchanged and moved when the cron changes', async () => {
    await client.schedule
      .getHandle(BACKUP_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
    expect(await ensureBackupSchedule(client, '0 3 * * *')).toBe('created');
    expect(await ensureBackupSchedule(client, '0 3 * * *')).toBe('unchanged');
    const handle = client.schedule.getHandle(BACKUP_SCHEDULE_ID);
    const created = await handle.describe();
    expect(created.action).toMatchObject({ type: 'startWorkflow', workflowType: 'backupDatabaseWorkflow' });
    expect(created.policies.overlap).toBe('SKIP');
    expect(created.info.nextActionTimes[0]?.toISOString()).toMatch(/T03:00:00\.000Z$/);

    expect(await ensureBackupSchedule(client, '30 4 * * *')).toBe('updated');
    expect(await ensureBackupSchedule(client, '30 4 * * *')).toBe('unchanged');
    const moved = await handle.describe();
    expect(moved.info.nextActionTimes[0]?.toISOString()).toMatch(/T04:30:00\.000Z$/);
  });
});
