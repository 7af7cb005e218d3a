import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import type { StepOutcome, WorkerMetrics } from '../lib/metrics';

/** The `step` label of each activity: the pipeline's step names, then the work around them. */
const STEP_OF_ACTIVITY: Record<string, string> = {
  scanFile: 'scan',
  validateFile: 'validate',
  makeRenditions: 'resize',
  storeFile: 'store',
  indexFile: 'index',
  recordFile: 'record',
  planNotifications: 'notify',
  deliverWebhook: 'deliver',
  removeRenditions: 'compensate',
  deleteArtifacts: 'delete',
};

export const stepOf = (activityType: string): string => STEP_OF_ACTIVITY[activityType] ?? 'sweep';

/** A business failure (non-retryable) ends the step; anything else is retried by Temporal. */
function outcomeOf(error: unknown): StepOutcome {
  return error instanceof ApplicationFailure && error.nonRetryable ? 'failed' : 'retry';
}

/**
 * Times every activity attempt, local ones too, into intake_step_duration_seconds. Measured around the
 * activity itself, so the figure is the step's own work; the Temporal SDK's metrics on the same
 * endpoint give the queueing in front of it (schedule-to-start).
 */
export function stepMetrics(metrics: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const step = stepOf(ctx.info.activityType);
        const started = performance.now();
        try {
          const result = await next(input);
          metrics.observeStep(step, 'ok', (performance.now() - started) / 1000);
          return result;
        } catch (error) {
          metrics.observeStep(step, outcomeOf(error), (performance.now() - started) / 1000);
          throw error;
        }
      },
    };
    return { inbound };
  };
}
