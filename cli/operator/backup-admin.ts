import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { ConfigError, loadConfig, type Config } from '../../config/env';
import { dataConverterFor } from '../../lib/data-converter';
import { libpqConnection, postgresTool } from '../../lib/libpq-connection';
import { getObjectStream } from '../../lib/s3-objects';
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

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

export async function backupNow(keep?: number): Promise<BackupResult> {
  const settings = config();
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
  const settings = config();
  const db = createDb(settings.databaseUrl, { poolSize: 1 });
  try {
    return await recentBackups(db, limit);
  } finally {
    await db.$disconnect();
  }
}

/** The tables a restore reports, in this order. */
const COUNTED_TABLES = ['Tenant', 'ApiKey', 'File', 'Batch', 'WebhookEndpoint', 'WebhookDelivery', 'DirectUpload'];

export interface RestoreReport {
  backup: BackupRow;
  target: string;
  rowCounts: Record<string, number>;
}

/** The URL with its password masked, for messages. */
const masked = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

async function tableCount(client: pg.Client): Promise<number> {
  const result = await client.query<{ n: string }>(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
  );
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * Restores backup `id` (looked up in DATABASE_URL's Backup table) into `into` (default DATABASE_URL),
 * then migrates it to the current schema and counts its rows. A target with tables is refused unless
 * `force`, which drops what the archive holds before recreating it.
 */
export async function restoreBackup(id: string, options: { into?: string; force?: boolean }): Promise<RestoreReport> {
  const settings = config();
  const target = options.into ?? settings.databaseUrl;
  const db = createDb(settings.databaseUrl, { poolSize: 1 });
  const backup = await findBackup(db, id).finally(() => db.$disconnect());
  if (!backup) throw new CliError(`No backup ${id} (intake backup list shows them).`);
  if (backup.status !== 'COMPLETED') throw new CliError(`Backup ${id} is ${backup.status}, not COMPLETED.`);

  const client = new pg.Client({ connectionString: target });
  await client.connect();
  try {
    const tables = await tableCount(client);
    if (tables > 0 && !options.force) {
      throw new CliError(
        `${masked(target)} is not empty (${tables} tables in schema public); pass --force to replace them.`,
      );
    }
  } finally {
    await client.end();
  }

  const s3 = createS3Client(settings.s3);
  try {
    const archive = await getObjectStream(s3, settings.s3.bucket, backup.key);
    await pgRestore(settings, archive, target, Boolean(options.force));
  } finally {
    s3.destroy();
  }
  await applyMigrations(target);

  const counted = new pg.Client({ connectionString: target });
  await counted.connect();
  try {
    const rowCounts: Record<string, number> = {};
    for (const table of COUNTED_TABLES) {
      const result = await counted.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
      rowCounts[table] = Number(result.rows[0]?.n ?? 0);
    }
    return { backup, target: masked(target), rowCounts };
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
