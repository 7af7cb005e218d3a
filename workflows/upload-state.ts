import { ActivityFailure, isCancellation, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { FileState, StepName, StepState, UploadInput } from '../common/domain';
import { STEP_NAMES } from '../common/domain';
import type { ActivityAttempt } from '../common/messages';
import {
  IntakeContentType,
  IntakeExpiresAt,
  IntakeFilename,
  IntakeHold,
  IntakeStatus,
  IntakeTenant,
} from '../common/search-attributes';

/** The upload's FileState: how it starts, how its steps move, and how it is mirrored and copied. */

export function newFileState(input: UploadInput): FileState {
  const steps = Object.fromEntries(
    STEP_NAMES.map((name) => [name, { state: 'pending', attempts: 0, startedAt: null, finishedAt: null, error: null }]),
  ) as FileState['steps'];
  return {
    fileId: input.fileId,
    tenantId: input.tenantId,
    filename: input.filename,
    status: 'PROCESSING',
    reason: null,
    contentType: null,
    size: input.size,
    sha256: null,
    width: null,
    height: null,
    renditions: [],
    tags: input.tags,
    steps,
    createdAt: input.createdAt,
    completedAt: null,
    expiresAt: null,
    hold: false,
    deletedAt: null,
    deletionReason: null,
  };
}

/** Runs one step's activity and keeps the step's state, attempts and timestamps current. */
export async function runStep<T>(state: FileState, name: StepName, run: () => Promise<T>): Promise<T> {
  const stepStatus = state.steps[name];
  stepStatus.state = 'running';
  stepStatus.startedAt = new Date().toISOString();
  stepStatus.attempts = Math.max(stepStatus.attempts, 1);
  try {
    const result = await run();
    markStep(state, name, 'done', null);
    return result;
  } catch (error) {
    markStep(state, name, 'failed', failureMessage(error));
    throw error;
  }
}

export function markStep(state: FileState, name: StepName, to: StepState, error: string | null) {
  const stepStatus = state.steps[name];
  const now = new Date().toISOString();
  stepStatus.state = to;
  if (to === 'running') {
    stepStatus.startedAt = now;
    stepStatus.attempts = Math.max(stepStatus.attempts, 1);
    stepStatus.finishedAt = null;
  } else {
    stepStatus.finishedAt = now;
  }
  stepStatus.error = error;
}

/** After a processing failure: the steps that never ran are skipped (notify still runs). */
export function markRemainingSkipped(state: FileState) {
  for (const name of STEP_NAMES) {
    if (name !== 'notify' && state.steps[name].state === 'pending') markStep(state, name, 'skipped', null);
  }
}

/** Which step an activity type's attempts count towards (see activityAttemptSignal). */
const STEP_OF_ACTIVITY: Record<string, StepName> = {
  scanFile: 'scan',
  validateFile: 'validate',
  makeRenditions: 'resize',
  storeFile: 'store',
  indexFile: 'index',
  deliverWebhook: 'notify',
};

/** Shows a retry the worker reported; attempts only grow, as reports may arrive out of order. */
export function recordAttempt(state: FileState, { activityType, attempt }: ActivityAttempt) {
  const step = STEP_OF_ACTIVITY[activityType];
  if (step && attempt > state.steps[step].attempts) state.steps[step].attempts = attempt;
}

/** Mirrors the state into the search attributes the Temporal UI lists and filters by. */
export function mirrorSearchAttributes(state: FileState) {
  const pairs: SearchAttributeUpdatePair[] = [
    { key: IntakeStatus, value: state.status },
    { key: IntakeTenant, value: state.tenantId },
    { key: IntakeFilename, value: state.filename },
    { key: IntakeHold, value: state.hold },
    { key: IntakeContentType, value: state.contentType },
    { key: IntakeExpiresAt, value: state.expiresAt === null ? null : new Date(state.expiresAt) },
  ];
  // Unsetting an attribute that was never set is pointless history; only send nulls for set ones.
  const current = workflowInfo().typedSearchAttributes;
  upsertSearchAttributes(pairs.filter((p) => p.value !== null || current.get(p.key) !== undefined));
}

/** A deep copy, so an activity's input is the state at call time, not what it later becomes. */
export function snapshot(state: FileState): FileState {
  return JSON.parse(JSON.stringify(state)) as FileState;
}

/** The message a step, a log line or a webhook problem shows for a failure: the activity's own cause. */
export function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return failureMessage(error.cause);
  if (isCancellation(error)) return 'cancelled';
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** The statuses processing can end in. */
export type Outcome = Extract<FileState['status'], 'READY' | 'REJECTED' | 'INFECTED' | 'FAILED'>;
