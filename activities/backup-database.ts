import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { heartbeat } from '@temporalio/activity';
import type pino from 'pino';
import { backupToolUnusable } from '../common/failures';
import type { Config } from '../config/env';
import { libpqConnection, postgresTool } from '../lib/libpq-connection';
import { deleteKeys } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import type { Db } from '../prisma/db';
import { completedBackupsNewestFirst, markBackup, startBackupRow } from '../prisma/backups';
import { classifyFailure } from './create-activities';
import { HashingStream } from './hashing-stream';
import type { BackupActivities, BackupRecord } from './types';

/*
 * Database backups: pg_dump's custom-format archive streams through a hash into a multipart S3 upload
 * (the S3 client adds server-side encryption to every write), so no full copy is ever on local disk or
 * in memory: at most QUEUE_SIZE parts of PART_SIZE. The archive is then read back from S3 into
 * pg_restore --list, which proves it is whole and readable, before the backup counts as COMPLETED.
 */

export interface BackupDeps {
  config: Config;
  s3: S3Client;
  db: Db;
  log?: pino.Logger;
}

const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 2;
const HEARTBEAT_INTERVAL_MS = 10_000;
/** The last stderr a tool wrote, for the failure's message. */
const STDERR_TAIL_BYTES = 4_096;

export function createBackupActivities(deps: BackupDeps): BackupActivities {
  const guard =
    <I, O>(activity: (deps: BackupDeps, input: I) => Promise<O>) =>
    (input: I): Promise<O> =>
      activity(deps, input).catch((error: unknown) => {
        throw classifyFailure(error);
      });
  return {
    backupDatabase: guard(backupDatabase),
    markBackupFailed: guard(markBackupFailed),
    pruneBackups: guard(pruneBackups),
  };
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Starts a PostgreSQL client tool; `exited` rejects with its stderr unless it exits 0. */
function runTool(deps: BackupDeps, name: 'pg_dump' | 'pg_restore', args: string[]): Running {
  const { url, env } = libpqConnection(deps.config.databaseUrl);
  const path = postgresTool(name, deps.config.backup.pgBinDir);
  const child = spawn(path, [...args, '--no-password', '--dbname', url], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_BYTES);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? backupToolUnusable(`${path} not found: install PostgreSQL's client tools or set INTAKE_PG_BIN_DIR`)
          : error,
      );
    });
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      const detail = stderr.trim() || `exit ${code ?? signal}`;
      // A client older than the server refuses it outright; retrying cannot help.
      reject(
        /server version mismatch/i.test(detail)
          ? backupToolUnusable(`${name}: ${detail}`)
          : new Error(`${name}: ${detail}`),
      );
    });
  });
  return { child, exited };
}

async function postgresVersion(db: Db): Promise<string> {
  const rows = await db.$queryRaw<{ server_version: string }[]>`SHOW server_version`;
  return rows[0]?.server_version.split(' ')[0] ?? 'unknown';
}

/** Dumps the database to S3 and verifies the archive; repeatable with one id (a retry overwrites). */
async function backupDatabase(deps: BackupDeps, input: { backupId: string }): Promise<BackupRecord> {
  const key = storageKeys.backup(input.backupId);
  const started = Date.now();
  await startBackupRow(deps.db, input.backupId, key);
  const version = await postgresVersion(deps.db);
  const beating = setInterval(() => heartbeat({ phase: 'dump' }), HEARTBEAT_INTERVAL_MS);
  try {
    const dump = runTool(deps, 'pg_dump', ['--format=custom']);
    const hashing = new HashingStream();
    dump.child.stdout!.pipe(hashing);
    const upload = new Upload({
      client: deps.s3,
      params: { Bucket: deps.config.s3.bucket, Key: key, Body: hashing, ContentType: 'application/octet-stream' },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await Promise.all([dump.exited, upload.done()]);
    } catch (error) {
      dump.child.kill('SIGKILL');
      await upload.abort().catch(() => undefined);
      await deleteKeys(deps.s3, deps.config.s3.bucket, [key]).catch(() => undefined);
      throw error;
    }
    const tocEntries = await verifyArchive(deps, key);
    const record: BackupRecord = {
      id: input.backupId,
      key,
      sizeBytes: hashing.bytesSeen,
      sha256: hashing.digest(),
      durationMs: Date.now() - started,
      postgresVersion: version,
      tocEntries,
    };
    await markBackup(deps.db, input.backupId, { status: 'COMPLETED', ...record, completedAt: new Date() });
    deps.log?.info(record, 'database backup completed');
    return record;
  } finally {
    clearInterval(beating);
  }
}

/** Reads the archive back from S3 into pg_restore --list; returns its table-of-contents entries. */
async function verifyArchive(deps: BackupDeps, key: string): Promise<number> {
  const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.config.s3.bucket, Key: key }));
  // --list reads the archive alone: no connection.
  const path = postgresTool('pg_restore', deps.config.backup.pgBinDir);
  const child = spawn(path, ['--list'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let listing = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (listing += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_BYTES)));
  // pg_restore may stop reading early on a broken archive: that is its exit code's to report, not EPIPE's.
  child.stdin.on('error', () => undefined);
  (object.Body as Readable).pipe(child.stdin);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  }).finally(() => {
    // --list stops after the table of contents: the rest of the GET is not wanted, and frees its socket.
    (object.Body as Readable).destroy();
  });
  if (code !== 0) throw new Error(`pg_restore --list refused the archive ${key}: ${stderr.trim() || `exit ${code}`}`);
  const entries = listing.split('\n').filter((line) => /^\d+;/.test(line)).length;
  if (entries === 0) throw new Error(`the archive ${key} lists no entries`);
  return entries;
}

async function markBackupFailed(deps: BackupDeps, input: { backupId: string; error: string }): Promise<void> {
  await markBackup(deps.db, input.backupId, {
    status: 'FAILED',
    error: input.error.slice(0, 2_000),
    completedAt: new Date(),
  });
}

/** Deletes the archives of completed backups past the newest `keep`; their rows stay, marked PRUNED. */
async function pruneBackups(deps: BackupDeps, input: { keep?: number }): Promise<{ pruned: string[] }> {
  const keep = input.keep ?? deps.config.backup.keep;
  const old = (await completedBackupsNewestFirst(deps.db)).slice(keep);
  if (old.length > 0)
    await deleteKeys(
      deps.s3,
      deps.config.s3.bucket,
      old.map((backup) => backup.key),
    );
  for (const backup of old) await markBackup(deps.db, backup.id, { status: 'PRUNED' });
  return { pruned: old.map((backup) => backup.id) };
}
