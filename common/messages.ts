import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BatchState, DeletionReason, FileState, RetentionChange, RetentionState, TerminalStatus } from './domain';

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

/*
 * The batch workflow's signals. A producer that knows the whole batch at once (POST /v1/batches) sends
 * `batchExpected` with signalWithStart; one that learns it over time (Kafka) signalWithStarts
 * `batchMemberAdded` per file and `batchExpected` when the batch's end marker arrives. Each member's
 * upload workflow sends `batchMemberDone` at its terminal status. Every signal is idempotent: the batch
 * counts a file id once, and the expected count only once it is set.
 */
export const batchMemberAddedSignal = defineSignal<[{ fileId: string }]>('batchMemberAdded');
export const batchExpectedSignal = defineSignal<[{ count: number }]>('batchExpected');
export const batchMemberDoneSignal = defineSignal<[{ fileId: string; status: TerminalStatus }]>('batchMemberDone');
export const batchStatusQuery = defineQuery<BatchState>('batchStatus');
