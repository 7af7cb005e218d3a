import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { sweepOrphansWorkflow } from '../workflows';
import { GENERAL_TASK_QUEUE } from '../common/task-queues';

export const SWEEPER_SCHEDULE_ID = 'intake-sweeper';
export const SWEEPER_INTERVAL = '15 minutes';

/**
 * Makes sure the `intake-sweeper` Schedule exists: every 15 minutes it starts sweepOrphansWorkflow on
 * the general task queue. Every general worker calls this at start-up, so it must be idempotent: an
 * existing schedule is left exactly as it is (an operator may have paused or retuned it).
 * Overlap SKIP: a sweep still running (a big backlog) is never joined by a second one.
 * Returns true when this call created the schedule.
 */
export async function ensureSweeperSchedule(client: Client, log?: Logger): Promise<boolean> {
  try {
    await client.schedule.create<typeof sweepOrphansWorkflow>({
      scheduleId: SWEEPER_SCHEDULE_ID,
      spec: { intervals: [{ every: SWEEPER_INTERVAL }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'sweepOrphansWorkflow',
        workflowId: SWEEPER_SCHEDULE_ID,
        taskQueue: GENERAL_TASK_QUEUE,
        args: [{}],
      },
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        // After an outage one catch-up sweep is enough; the next interval does the rest.
        catchupWindow: SWEEPER_INTERVAL,
      },
      memo: { description: 'Deletes orphaned incoming objects and aborted multipart uploads; restarts lost workflows' },
    });
    log?.info({ scheduleId: SWEEPER_SCHEDULE_ID, every: SWEEPER_INTERVAL }, 'created the sweeper schedule');
    return true;
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return false;
    throw error;
  }
}
