import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import type { Config } from '../../config/env';
import { operatorConfig } from './operator-config';
import { dataConverterFor } from '../../lib/data-converter';
import { libpqConnection, postgresTool } from '../../lib/libpq-connection';
import { getObjectStream, objectExists } from '../../lib/s3-objects';
import { storageKeys } from '../../lib/storage-keys';
import { createS3Client } from '../../lib/s3-client';
import { temporalConnectionOptions } from '../../lib/temporal-connection';
import { findBackup, recentBackups, type BackupRow } from '../../prisma/backups';
import { createDb } from '../../prisma/db';
import { applyMigrations } from '../../prisma/migrate';
import type { BackupResult } from '../../workflows/backup-workflow';
import { CliError } from '../errors';

/*
 * `intake backup now | list | restore`: operator commands on Temporal, PostgreSQL and S3 directly.
 * `now` runs the same workflow the `intake-backup` Schedule runs, on the workers, and waits for it.
 */

export async function backupNow(keep?: number): Promise<BackupResult> {
  const settings = operatorConfig();
  const connection = await Connection.connect(temporalConnectionOptions(settings.temporal));
  try {
    const client = new Client({
      connection,
      namespace: settings.temporal.namespace,
      dataConverter: dataConverterFor(settings),
    });
    return await client.workflow.execute('backupDatabaseWorkflow', {
      taskQueue: GENERAL_TASK_QUEUE,
      workflowId: `intake-backup-now-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      args: [keep === undefined ? {} : { keep }],
    });
  } finally {
    await connection.close();
  }
}

export async function listBackups(limit = 50): Promise<BackupRow[]> {
  const settings = operatorConfig();
  const db = createDb(settings.databaseUrl, { poolSize: 1 });
  try {
    return await recentBackups(db, limit);
  } finally {
    await db.$disconnect();
  }
}

/** The tables a restore reports, in this order. */
const COUNTED_TABLES = ['Tenant', 'ApiKey', 'File', 'Batch', 'WebhookEndpoint', 'WebhookDelivery', 'DirectUpload'];

/** The backup a restore read: its record, or only its archive when the record went with the database. */
export interface RestoredBackup {
  id: string;
  key: string;
  /** False when DATABASE_URL had no record of it (a lost database) and the archive was found in S3 by id. */
  recorded: boolean;
}

export interface RestoreReport {
  backup: RestoredBackup;
  target: string;
  rowCounts: Record<string, number>;
}

/** The URL with its password masked, for messages. */
const masked = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

async function tableCount(client: pg.Client): Promise<number> {
  const result = await client.query<{ n: string }>(
    // Views count too: a target whose tables are gone but whose analytics views remain would make
    // pg_restore fail half-way on CREATE SCHEMA analytics, so it is refused before anything is written.
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema IN ('public', 'analytics')",
  );
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * Restores backup `id` (looked up in DATABASE_URL's Backup table) into `into` (default DATABASE_URL),
 * then migrates it to the current schema and counts its rows. A target with tables is refused unless
 * `force`, which drops what the archive holds before recreating it.
 */
export async function restoreBackup(id: string, options: { into?: string; force?: boolean }): Promise<RestoreReport> {
  const settings = operatorConfig();
  const target = options.into ?? settings.databaseUrl;
  const s3 = createS3Client(settings.s3);
  try {
    const backup = await locateBackup(settings, s3, id);
    await refuseNonEmpty(target, Boolean(options.force));
    const archive = await getObjectStream(s3, settings.s3.bucket, backup.key);
    await pgRestore(settings, archive, target, Boolean(options.force));
    await applyMigrations(target);
    return { backup, target: masked(target), rowCounts: await rowCounts(target) };
  } finally {
    s3.destroy();
  }
}

/**
 * The backup's record in DATABASE_URL's Backup table, or, when that database has none (it is the one
 * that was lost: empty, or without the table), its archive in S3 under the id's deterministic key.
 */
async function locateBackup(settings: Config, s3: S3Client, id: string): Promise<RestoredBackup> {
  const db = createDb(settings.databaseUrl, { poolSize: 1 });
  const row = await findBackup(db, id)
    .catch(() => null)
    .finally(() => db.$disconnect());
  if (row) {
    if (row.status !== 'COMPLETED') throw new CliError(`Backup ${id} is ${row.status}, not COMPLETED.`);
    return { id: row.id, key: row.key, recorded: true };
  }
  const key = storageKeys.backup(id);
  if (!(await objectExists(s3, settings.s3.bucket, key))) {
    throw new CliError(`No backup ${id}: neither a record in DATABASE_URL nor s3://${settings.s3.bucket}/${key}.`);
  }
  return { id, key, recorded: false };
}

async function refuseNonEmpty(target: string, force: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  try {
    const tables = await tableCount(client);
    if (tables > 0 && !force) {
      throw new CliError(
        `${masked(target)} is not empty (${tables} tables or views in schemas public and analytics); pass --force to replace them.`,
      );
    }
  } finally {
    await client.end();
  }
}

async function rowCounts(target: string): Promise<Record<string, number>> {
  const counted = new pg.Client({ connectionString: target });
  await counted.connect();
  try {
    const counts: Record<string, number> = {};
    for (const table of COUNTED_TABLES) {
      const result = await counted.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
      counts[table] = Number(result.rows[0]?.n ?? 0);
    }
    return counts;
  } finally {
    await counted.end();
  }
}

/** Streams the archive into pg_restore; one transaction, so a failed restore leaves nothing half-written. */
async function pgRestore(settings: Config, archive: Readable, target: string, clean: boolean): Promise<void> {
  const { url, env } = libpqConnection(target);
  const path = postgresTool('pg_restore', settings.backup.pgBinDir);
  const args = ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', '--no-password'];
  if (clean) args.push('--clean', '--if-exists');
  const child = spawn(path, [...args, '--dbname', url], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_096)));
  child.stdin.on('error', () => undefined);
  archive.pipe(child.stdin);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new CliError(`${path} not found: install PostgreSQL's client tools or set INTAKE_PG_BIN_DIR.`)
          : error,
      ),
    );
    child.on('exit', resolve);
  });
  if (code !== 0) throw new CliError(`pg_restore failed (nothing was restored): ${stderr.trim() || `exit ${code}`}`);
}
