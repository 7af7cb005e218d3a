import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DeletionReason, FileState, RetentionChange, RetentionState } from './domain';

/** Signals, queries and updates of the upload workflow; the API imports these same definitions. */
export const statusQuery = defineQuery<FileState>('status');
export const deleteSignal = defineSignal<[{ reason: DeletionReason }]>('delete');
export const retentionUpdate = defineUpdate<RetentionState, [RetentionChange]>('retention');

/**
 * Sent by the worker (workers/report-attempts.ts) when an activity starts a retry, so `steps[].attempts`
 * and the status query show retries as they happen: Temporal retries activities server-side and never
 * tells the workflow how many attempts a successful activity took.
 */
export interface ActivityAttempt {
  activityType: string;
  attempt: number;
}
export const activityAttemptSignal = defineSignal<[ActivityAttempt]>('activityAttempt');
