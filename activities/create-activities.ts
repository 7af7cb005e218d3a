import { ApplicationFailure } from '@temporalio/common';
import pLimit from 'p-limit';
import { createObjectDeleter } from '../lib/batched-deletes';
import { databaseError } from '../common/failures';
import { isRetryableDbError } from '../prisma/db';
import { deleteArtifacts } from './delete-artifacts';
import type { ActivityDeps } from './deps';
import { deliverWebhook } from './deliver-webhook';
import { indexFile } from './index-file';
import { makeRenditions } from './make-renditions';
import { planNotifications } from './plan-notifications';
import { publishEvent } from './publish-event';
import { recordBatchDone } from './record-batch-done';
import { recordFile } from './record-file';
import { removeRenditions } from './remove-renditions';
import { scanFile } from './scan-file';
import { storeFile } from './store-file';
import type { IntakeActivities } from './types';
import { validateFile } from './validate-file';

export type { ActivityDeps } from './deps';

/**
 * Wires every activity to its dependencies. The worker passes the real services; tests pass the real
 * test stack (or fakes for a single dependency).
 */
export function createActivities(given: ActivityDeps): IntakeActivities {
  // One per worker process, shared by every deletion it runs: that sharing is what batches and bounds them.
  const deps: ActivityDeps = {
    ...given,
    objectDeleter: given.objectDeleter ?? createObjectDeleter({ s3: given.s3, bucket: given.config.s3.bucket }),
    deletionSlots: given.deletionSlots ?? pLimit(given.config.worker.deleteConcurrency),
  };
  const bind =
    <I, O>(activity: (deps: ActivityDeps, input: I) => Promise<O>) =>
    (input: I): Promise<O> =>
      activity(deps, input).catch((error: unknown) => {
        throw classifyFailure(error);
      });
  return {
    scanFile: bind(scanFile),
    validateFile: bind(validateFile),
    makeRenditions: bind(makeRenditions),
    storeFile: bind(storeFile),
    indexFile: bind(indexFile),
    recordFile: bind(recordFile),
    planNotifications: bind(planNotifications),
    deliverWebhook: bind(deliverWebhook),
    removeRenditions: bind(removeRenditions),
    deleteArtifacts: bind(deleteArtifacts),
    publishEvent: bind(publishEvent),
    recordBatchDone: bind(recordBatchDone),
  };
}

/**
 * Database errors that retrying cannot fix (a constraint violation, a missing tenant row, bad data)
 * fail the activity at once instead of being retried for hours; connection losses, timeouts and
 * serialization conflicts, like every S3 and clamd failure, are rethrown for Temporal to retry.
 */
export function classifyFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure || !isPrismaError(error) || isRetryableDbError(error)) return error;
  const message = (error as Error).message.trim().split('\n').pop() ?? 'database error';
  return databaseError(message, error as Error);
}

function isPrismaError(error: unknown): boolean {
  return error instanceof Error && error.name.startsWith('PrismaClient');
}
