import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { backupDatabaseWorkflow } from '../workflows';
import { GENERAL_TASK_QUEUE } from '../common/task-queues';

export const BACKUP_SCHEDULE_ID = 'intake-backup';

/**
 * Makes sure the `intake-backup` Schedule exists and runs at INTAKE_BACKUP_SCHEDULE (UTC). Every general
 * worker calls this at start-up. Unlike the sweeper's, the spec follows the configuration: a changed
 * cron is applied to the existing schedule, and nothing else of it (an operator's pause stays).
 * Returns what it did.
 */
export async function ensureBackupSchedule(
  client: Client,
  cron: string,
  log?: Logger,
): Promise<'created' | 'updated' | 'unchanged'> {
  try {
    await client.schedule.create<typeof backupDatabaseWorkflow>({
      scheduleId: BACKUP_SCHEDULE_ID,
      spec: { cronExpressions: [cron] },
      action: {
        type: 'startWorkflow',
        workflowType: 'backupDatabaseWorkflow',
        workflowId: BACKUP_SCHEDULE_ID,
        taskQueue: GENERAL_TASK_QUEUE,
        args: [{}],
        // Where the cron it was made from is kept: a schedule's own memo cannot be updated, its action's can.
        memo: { scheduleCron: cron },
      },
      // A backup still running is never joined by a second; after an outage one catch-up run is enough.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { description: 'pg_dump to S3 under backups/, verified; keeps the newest INTAKE_BACKUP_KEEP' },
    });
    log?.info({ scheduleId: BACKUP_SCHEDULE_ID, cron }, 'created the backup schedule');
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(BACKUP_SCHEDULE_ID);
  const description = await handle.describe();
  if (description.action.type === 'startWorkflow' && description.action.memo?.scheduleCron === cron) return 'unchanged';
  await handle.update((previous) => ({
    ...previous,
    spec: { cronExpressions: [cron] },
    action: { ...previous.action, memo: { ...previous.action.memo, scheduleCron: cron } },
  }));
  log?.info({ scheduleId: BACKUP_SCHEDULE_ID, cron }, 'changed the backup schedule');
  return 'updated';
}
