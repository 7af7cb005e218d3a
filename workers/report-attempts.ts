import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { activityAttemptSignal } from '../common/messages';

/**
 * Tells the workflow when one of its activities starts a retry. Temporal retries activities on the
 * server and reports only the final result, so without this the status query could not show
 * "scan: attempt 4" while clamd is down, nor how many attempts a step finally took. Best effort: a
 * failed signal (the workflow closed meanwhile, a network blip) never fails the activity.
 */
export const reportAttempts: ActivityInterceptorsFactory = (ctx) => {
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      const { attempt, activityType, workflowExecution } = ctx.info;
      if (attempt > 1 && workflowExecution) {
        try {
          await ctx.client.workflow
            .getHandle(workflowExecution.workflowId, workflowExecution.runId)
            .signal(activityAttemptSignal, { activityType, attempt });
        } catch (error) {
          ctx.log.warn('could not report the attempt to the workflow', { error: String(error) });
        }
      }
      return next(input);
    },
  };
  return { inbound };
};
