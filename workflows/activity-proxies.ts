import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ActivityOptions, RetryPolicy } from '@temporalio/common';
import type { IntakeActivities } from '../activities/types';
import type { UploadInput } from '../common/domain';
import { FailureTypes } from '../common/failures';
import { MEDIA_TASK_QUEUE } from '../common/task-queues';

/*
 * The upload workflow's activity proxies. Each declares its timeouts and retry policy here so the
 * failure semantics sit next to the calls. Business failures (common/failures.ts) are non-retryable
 * ApplicationFailures thrown by the activities; everything else is infrastructure and is retried.
 *
 * Versioning: workflows wait for days on their retention timer, so any change to the options or the
 * choice of proxy here changes the commands running workflows issue: gate it with `patched()` and
 * prove it with the replay test (test/workflow/replay.test.ts).
 */

// Fail closed: while clamd is unreachable the scan keeps retrying (for up to a day) rather than let
// anything past unscanned. An infected file is a verdict, never retried. (Local scans share it.)
const SCAN_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  // no maximumAttempts: unlimited, bounded by scheduleToCloseTimeout
  nonRetryableErrorTypes: [FailureTypes.Infected, FailureTypes.Rejected],
};
const { scanFile } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '24 hours',
  retry: SCAN_RETRY,
});

// I/O-bound steps against S3 and Postgres: retried with backoff for about an hour, then FAILED.
// (Their local variants share it.)
const IO_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 20,
  nonRetryableErrorTypes: [FailureTypes.Rejected],
};
const { validateFile, storeFile, indexFile } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '5 minutes',
  retry: IO_RETRY,
});

// CPU-heavy: its own task queue so media workers scale (and limit concurrency) separately. It
// heartbeats per rendition, so a crashed worker is noticed in 30 s instead of 10 min.
export const { makeRenditions } = proxyActivities<IntakeActivities>({
  taskQueue: MEDIA_TASK_QUEUE,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FailureTypes.Rejected],
  },
});

// Small database writes and plans; the workflow's state is the source of truth, so these must land.
// (Their local variants share it.)
const RECORD_RETRY: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };
// planNotifications is exported for the batch workflow, which plans batch.completed remotely.
export const { recordFile, planNotifications } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry: RECORD_RETRY,
});

// A batch's completion must land (its workflow has nothing else to do): retried without limit.
export const { recordBatchDone } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

// The events topic takes every event at least once: retried without limit, so a broker outage only
// delays an event. The workflow publishes beside its other work, never in front of it.
export const { publishEvent } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Standard Webhooks delivery: exponential backoff for at least 24 hours (plus a margin for the last
// attempt); a refused target (private address, 4xx that will not change) is not retried.
export const WEBHOOK_DELIVERY_WINDOW_MS = 25 * 3_600_000;
const WEBHOOK_DELIVERY: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: WEBHOOK_DELIVERY_WINDOW_MS,
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 hour',
    nonRetryableErrorTypes: [FailureTypes.WebhookRefused],
  },
};
export const { deliverWebhook } = proxyActivities<IntakeActivities>(WEBHOOK_DELIVERY);

/**
 * The same delivery with what is left of its window: a delivery resumed after continue-as-new keeps
 * the deadline it started with instead of another 25 hours.
 */
export function deliverWebhookWithin(windowMs: number) {
  return proxyActivities<IntakeActivities>({ ...WEBHOOK_DELIVERY, scheduleToCloseTimeout: windowMs }).deliverWebhook;
}

// Deletion and compensation must complete: retried without limit, backing off to 5 minutes.
export const { removeRenditions, deleteArtifacts } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/*
 * Local variants of the short steps. A remote activity costs a server round trip each (schedule,
 * dispatch, complete, a new workflow task), most of an upload's orchestration overhead (measured in
 * README's benchmark section). Local activities run in the worker that runs the workflow task, one
 * after another inside it, recorded as a marker each; step states and retries stay as before. Used for
 * a small upload's scan, validate and store (bounded work: a long local activity would hold its
 * workflow task open and delay status queries) and for every upload's index, record and plan (bounded
 * reads and writes). A retry more than `localRetryThreshold` away waits on a durable timer instead,
 * outside any workflow task: the long retry budgets still hold, and status queries (which wait for an
 * open workflow task) are answered while, say, clamd is down. Only the first, 1-second retry runs
 * inside the task.
 */
const LOCAL_STEP_MAX_BYTES = 16 * 1024 * 1024;

// Longer than clamd's own read timeout (CLAMD_TIMEOUT, 60 s by default), so a slow scan ends with
// clamd's answer rather than an attempt abandoned while clamd still works on it.
const localScan = proxyLocalActivities<IntakeActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '24 hours',
  localRetryThreshold: '1 second',
  retry: SCAN_RETRY,
});

const localIo = proxyLocalActivities<IntakeActivities>({
  startToCloseTimeout: '1 minute',
  localRetryThreshold: '1 second',
  retry: IO_RETRY,
});

const localRecord = proxyLocalActivities<IntakeActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  localRetryThreshold: '1 second',
  retry: RECORD_RETRY,
});

/** The activities whose proxy (remote or local) depends on the run and the upload's size. */
export type StepActivities = Pick<
  IntakeActivities,
  'scanFile' | 'validateFile' | 'storeFile' | 'indexFile' | 'recordFile' | 'planNotifications'
>;

/**
 * The activities a run calls for its steps. `localSteps` is the run's `local-steps` patch: runs
 * recorded before local steps existed call every step remotely.
 */
export function stepActivitiesFor(input: UploadInput, localSteps: boolean): StepActivities {
  if (!localSteps) return { scanFile, validateFile, storeFile, indexFile, recordFile, planNotifications };
  const small = input.size <= LOCAL_STEP_MAX_BYTES;
  return {
    scanFile: small ? localScan.scanFile : scanFile,
    validateFile: small ? localIo.validateFile : validateFile,
    storeFile: small ? localIo.storeFile : storeFile,
    indexFile: localIo.indexFile,
    recordFile: localRecord.recordFile,
    planNotifications: localRecord.planNotifications,
  };
}
