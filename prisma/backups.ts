import type { Backup, DbClient } from './db';

/*
 * The Backup table's repository: one row per backup the `intake-backup` workflow (or `intake backup
 * now`) took, written RUNNING first so a crashed dump still leaves a trace.
 */

export type BackupStatus = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'PRUNED';
export type BackupRow = Backup;

/** Creates the row, or resets it for a retried attempt of the same backup. */
export async function startBackupRow(db: DbClient, id: string, key: string): Promise<void> {
  await db.backup.upsert({
    where: { id },
    create: { id, key, status: 'RUNNING' satisfies BackupStatus },
    update: { status: 'RUNNING' satisfies BackupStatus, error: null, completedAt: null },
  });
}

export interface BackupUpdate {
  status: BackupStatus;
  sizeBytes?: number;
  sha256?: string;
  durationMs?: number;
  postgresVersion?: string;
  tocEntries?: number;
  error?: string;
  completedAt?: Date;
}

export async function markBackup(db: DbClient, id: string, update: BackupUpdate): Promise<void> {
  const { sizeBytes, ...rest } = update;
  await db.backup.update({
    where: { id },
    data: { ...rest, ...(sizeBytes === undefined ? {} : { sizeBytes: BigInt(sizeBytes) }) },
  });
}

export function completedBackupsNewestFirst(db: DbClient): Promise<BackupRow[]> {
  return db.backup.findMany({ where: { status: 'COMPLETED' }, orderBy: { startedAt: 'desc' } });
}

/** The newest backups of any status, for `intake backup list`. */
export function recentBackups(db: DbClient, limit: number): Promise<BackupRow[]> {
  return db.backup.findMany({ orderBy: { startedAt: 'desc' }, take: limit });
}

export function findBackup(db: DbClient, id: string): Promise<BackupRow | null> {
  return db.backup.findUnique({ where: { id } });
}
