import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { BackupActivities, BackupRecord } from '../activities/types';

/*
 * A database backup, started daily by the `intake-backup` Schedule or by `intake backup now`: dump and
 * verify (one activity, repeatable under one id), then prune what INTAKE_BACKUP_KEEP no longer keeps.
 */

const { backupDatabase } = proxyActivities<BackupActivities>({
  // A large database takes long to dump; the heartbeat, not this, notices a stuck one.
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 3 },
});
const { markBackupFailed, pruneBackups } = proxyActivities<BackupActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

export interface BackupInput {
  /** How many completed backups to keep; default INTAKE_BACKUP_KEEP. */
  keep?: number;
}

export interface BackupResult extends BackupRecord {
  /** Ids of the older backups this run deleted. */
  pruned: string[];
}

export async function backupDatabaseWorkflow(input: BackupInput = {}): Promise<BackupResult> {
  if (input.keep !== undefined && !(Number.isInteger(input.keep) && input.keep >= 1)) {
    throw ApplicationFailure.nonRetryable('keep must be at least 1 (the backup just taken)');
  }
  // From the run, so a retried activity rewrites the same object and row instead of adding one.
  const backupId = `bk_${workflowInfo().runId.replaceAll('-', '')}`;
  let record: BackupRecord;
  try {
    record = await backupDatabase({ backupId });
  } catch (error) {
    const message =
      error instanceof ActivityFailure && error.cause ? error.cause.message : String((error as Error).message);
    await markBackupFailed({ backupId, error: message });
    throw error;
  }
  const { pruned } = await pruneBackups(input.keep === undefined ? {} : { keep: input.keep });
  return { ...record, pruned };
}
