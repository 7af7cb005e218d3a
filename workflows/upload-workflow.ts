import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { RetryPolicy, SearchAttributeUpdatePair } from '@temporalio/common';
import type { InfectedDetails, IntakeActivities, ValidateResult, WebhookTarget } from '../activities/types';
import type { DeletionReason, FileState, Rendition, StepName, UploadInput, WebhookEvent } from '../common/domain';
import { STEP_NAMES } from '../common/domain';
import { formatDuration } from '../common/durations';
import { activityAttemptSignal, deleteSignal, retentionUpdate, statusQuery } from '../common/messages';
import {
  IntakeContentType,
  IntakeExpiresAt,
  IntakeFilename,
  IntakeHold,
  IntakeStatus,
  IntakeTenant,
} from '../common/search-attributes';
import { MEDIA_TASK_QUEUE } from '../common/task-queues';

/*
 * Activity proxies. Each declares its timeouts and retry policy here so the failure semantics sit
 * next to the calls. Business failures (Infected, Rejected, WebhookRefused) are non-retryable
 * ApplicationFailures thrown by the activities; everything else is infrastructure and is retried.
 *
 * Versioning: workflows wait for days on their retention timer, so any change to the commands this
 * code issues (activities, timers, their order) must be gated with `patched('<change-id>')` and
 * proven by the replay test (test/workflow/replay.test.ts with the histories in test/workflow/histories).
 */

// Fail closed: while clamd is unreachable the scan keeps retrying (for up to a day) rather than let
// anything past unscanned. An infected file is a verdict, never retried. (Local scans share it.)
const SCAN_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  // no maximumAttempts: unlimited, bounded by scheduleToCloseTimeout
  nonRetryableErrorTypes: ['Infected', 'Rejected'],
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
  nonRetryableErrorTypes: ['Rejected'],
};
const { validateFile, storeFile, indexFile } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '5 minutes',
  retry: IO_RETRY,
});

// CPU-heavy: its own task queue so media workers scale (and limit concurrency) separately. It
// heartbeats per rendition, so a crashed worker is noticed in 30 s instead of 10 min.
const { makeRenditions } = proxyActivities<IntakeActivities>({
  taskQueue: MEDIA_TASK_QUEUE,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['Rejected'],
  },
});

// Small database writes and plans; the workflow's state is the source of truth, so these must land.
// (Their local variants share it.)
const RECORD_RETRY: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' };
const { recordFile, planNotifications } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry: RECORD_RETRY,
});

// Standard Webhooks delivery: exponential backoff for at least 24 hours (plus a margin for the last
// attempt); a refused target (private address, 4xx that will not change) is not retried.
const { deliverWebhook } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '25 hours',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 hour',
    nonRetryableErrorTypes: ['WebhookRefused'],
  },
});

// Deletion and compensation must complete: retried without limit, backing off to 5 minutes.
const { removeRenditions, deleteArtifacts } = proxyActivities<IntakeActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/*
 * Local variants of the short steps. A remote activity costs a server round trip each (schedule,
 * dispatch, complete, a new workflow task): 10–12 ms on the dev server, most of an upload's
 * orchestration overhead (`npm run bench`: p50 62 → 37 ms with these). Local activities run in the worker that runs the workflow task, one after
 * another inside it, recorded as a marker each; step states and retries stay as before. Used for a small
 * upload's scan, validate and store (bounded work: a long local activity would hold its workflow task
 * open and delay status queries) and for every upload's index, record and plan (bounded reads and writes).
 * A retry more than `localRetryThreshold` away waits on a durable timer instead, outside any workflow
 * task: the long retry budgets still hold, and status queries (which wait for an open workflow task)
 * are answered while, say, clamd is down. Only the first, 1-second retry runs inside the task.
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

type StepActivities = Pick<
  IntakeActivities,
  'scanFile' | 'validateFile' | 'storeFile' | 'indexFile' | 'recordFile' | 'planNotifications'
>;

/** The activities a run calls for its steps: remote only in runs recorded before local steps existed. */
function stepActivities(input: UploadInput, localSteps: boolean): StepActivities {
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

/** Which step an activity type's attempts count towards (see activityAttemptSignal). */
const STEP_OF_ACTIVITY: Record<string, StepName> = {
  scanFile: 'scan',
  validateFile: 'validate',
  makeRenditions: 'resize',
  storeFile: 'store',
  indexFile: 'index',
  deliverWebhook: 'notify',
};

const DEFAULT_RETENTION_MIN_MS = 60_000;
const DEFAULT_RETENTION_MAX_MS = 365 * 86_400_000;
/** Continue-as-new well before Temporal's own warning so a long wait never drags a big history. */
const MAX_HISTORY_EVENTS = 2_000;

type Outcome = Extract<FileState['status'], 'READY' | 'REJECTED' | 'INFECTED' | 'FAILED'>;
const OUTCOME_EVENT: Record<Outcome, WebhookEvent> = {
  READY: 'file.ready',
  REJECTED: 'file.rejected',
  INFECTED: 'file.infected',
  FAILED: 'file.failed',
};

/**
 * One workflow per uploaded file: scan → validate → resize (images) → store → index → record, then
 * notify, then wait on the retention timer and delete every artifact. `carried` is the state handed
 * over by continue-as-new; when present, processing is already done and only retention remains.
 */
export async function uploadWorkflow(input: UploadInput, carried?: FileState): Promise<FileState> {
  const state: FileState = carried ?? initialState(input);
  // Chosen once per run: histories recorded before this change carry no `local-steps` marker, so on
  // replay they keep every remote activity and every search-attribute upsert they issued.
  const localSteps = patched('local-steps');
  const acts = stepActivities(input, localSteps);
  let deleteRequested: DeletionReason | null = null;
  let retentionChanged = false;
  const minMs = input.retentionMinMs ?? DEFAULT_RETENTION_MIN_MS;
  const maxMs = input.retentionMaxMs ?? DEFAULT_RETENTION_MAX_MS;

  // Handlers first, so a query, signal or update that arrives with the first task is never lost.
  setHandler(statusQuery, () => state);
  setHandler(deleteSignal, ({ reason }) => {
    if (state.status !== 'DELETED' && deleteRequested === null) deleteRequested = reason ?? 'requested';
  });
  setHandler(activityAttemptSignal, ({ activityType, attempt }) => {
    const step = STEP_OF_ACTIVITY[activityType];
    if (step && attempt > state.steps[step].attempts) state.steps[step].attempts = attempt;
  });
  setHandler(
    retentionUpdate,
    (change) => {
      if (change.hold !== undefined) state.hold = change.hold;
      if (change.expiresAt !== undefined) state.expiresAt = new Date(Date.parse(change.expiresAt)).toISOString();
      if (change.extendByMs !== undefined && state.expiresAt !== null) {
        state.expiresAt = new Date(Date.parse(state.expiresAt) + change.extendByMs).toISOString();
      }
      retentionChanged = true;
      upsertState(state);
      return { expiresAt: state.expiresAt, hold: state.hold };
    },
    {
      validator: (change) => {
        if (state.status === 'DELETED' || deleteRequested !== null) {
          throw new Error('the file is deleted (or being deleted); its retention can no longer change');
        }
        if (change.expiresAt === undefined && change.extendByMs === undefined && change.hold === undefined) {
          throw new Error('nothing to change: give expiresAt, extendByMs or hold');
        }
        if (change.expiresAt !== undefined && change.extendByMs !== undefined) {
          throw new Error('give either expiresAt or extendByMs, not both');
        }
        if (change.hold !== undefined && typeof change.hold !== 'boolean')
          throw new Error('hold must be true or false');
        if (change.expiresAt === undefined && change.extendByMs === undefined) return;
        if (state.status === 'PROCESSING' || state.completedAt === null || state.expiresAt === null) {
          throw new Error('the retention period starts when processing ends; change the expiry after that');
        }
        let next: number;
        if (change.extendByMs !== undefined) {
          if (!Number.isFinite(change.extendByMs) || change.extendByMs <= 0) {
            throw new Error('extendByMs must be a positive number of milliseconds');
          }
          next = Date.parse(state.expiresAt) + change.extendByMs;
        } else {
          next = Date.parse(change.expiresAt ?? '');
          if (Number.isNaN(next)) throw new Error(`expiresAt "${change.expiresAt}" is not an ISO date-time`);
        }
        if (next <= Date.now()) throw new Error('expiresAt must be in the future (use delete to remove the file now)');
        const period = next - Date.parse(state.completedAt);
        if (period < minMs || period > maxMs) {
          throw new Error(
            `the retention period would be ${formatDuration(period, 's')}; it must lie within ${formatDuration(minMs, 's')}..${formatDuration(maxMs, 's')} of completion`,
          );
        }
      },
    },
  );

  // A fresh upload's workflow is started with its search attributes (status, tenant, filename, hold);
  // upserting them again would only add a visibility write.
  if (!localSteps || carried !== undefined) upsertState(state);

  // Outcome deliveries run beside the retention wait: a webhook retrying for a day must never hold
  // up expiry or a delete.
  const outcomeDeliveries = new CancellationScope();
  let pendingDeliveries = 0;

  if (carried === undefined) {
    const outcome = await processUpload(input, state, acts, localSteps);
    if (deleteRequested === null) {
      pendingDeliveries++;
      void outcomeDeliveries
        .run(() => notify(acts, state, OUTCOME_EVENT[outcome], input.callbackUrl, true))
        .finally(() => pendingDeliveries--);
    } else {
      markStep(state, 'notify', 'skipped', 'the file was deleted before its outcome was announced');
    }
  }

  // Retention: a durable timer that signals, updates and holds can move.
  let reason: DeletionReason;
  for (;;) {
    if (retentionChanged) {
      retentionChanged = false;
      // The workflow's state is what governs expiry; a row that could not be updated must not end the
      // workflow (and with it every future expiry). The next change or the deletion writes it again.
      await acts
        .recordFile(snapshot(state))
        .catch((error: unknown) => log.error('could not record a retention change', { error: describe(error) }));
    }
    if (deleteRequested !== null) {
      reason = deleteRequested;
      break;
    }
    const msLeft = state.expiresAt === null ? 0 : Date.parse(state.expiresAt) - Date.now();
    if (!state.hold && msLeft <= 0) {
      reason = 'expired';
      break;
    }
    if (historyTooLong() && pendingDeliveries === 0) {
      // Bounded history: start a fresh run carrying the state; the timer is re-armed from expiresAt.
      await condition(allHandlersFinished);
      if (!retentionChanged && deleteRequested === null) {
        return await continueAsNew<typeof uploadWorkflow>(input, snapshot(state));
      }
      continue;
    }
    const wake = () => deleteRequested !== null || retentionChanged || (historyTooLong() && pendingDeliveries === 0);
    if (state.hold) await condition(wake);
    else await condition(wake, msLeft);
  }

  // The file is going away: an outcome announcement still retrying is stale now.
  outcomeDeliveries.cancel();
  await deleteArtifacts({ fileId: state.fileId, tenantId: state.tenantId, reason });
  state.renditions = [];
  state.status = 'DELETED';
  state.deletedAt = new Date().toISOString();
  state.deletionReason = reason;
  await acts.recordFile(snapshot(state));
  upsertState(state);
  // Deletion is done; the workflow stays open only while file.deleted is delivered (bounded by the
  // delivery's 25-hour schedule-to-close timeout) so every endpoint hears about it.
  await notify(acts, state, 'file.deleted', input.callbackUrl, false);
  await condition(allHandlersFinished);
  return state;
}

/** Runs the processing steps and leaves `state` at its outcome, recorded and mirrored. */
async function processUpload(
  input: UploadInput,
  state: FileState,
  acts: StepActivities,
  localSteps: boolean,
): Promise<Outcome> {
  const { fileId, tenantId } = input;
  const { scanFile, validateFile, storeFile, indexFile, recordFile } = acts;
  let outcome: Outcome;
  let reason: string | null = null;
  try {
    const scan = await step(state, 'scan', () => scanFile({ fileId, tenantId, key: input.incomingKey }));
    state.sha256 = scan.sha256;
    state.size = scan.size;

    const validation: ValidateResult = await step(state, 'validate', () =>
      validateFile({ fileId, key: input.incomingKey, size: scan.size, declaredContentType: input.declaredContentType }),
    );
    state.contentType = validation.contentType;
    state.width = validation.width;
    state.height = validation.height;
    // The content type is mirrored with the outcome a moment later; only old runs upserted it here.
    if (!localSteps) upsertState(state);

    if (validation.isImage) {
      state.renditions = await step(state, 'resize', () =>
        makeRenditions({ fileId, tenantId, key: input.incomingKey }),
      );
    } else {
      markStep(state, 'resize', 'skipped', null);
    }

    await step(state, 'store', () => storeFile({ upload: input, scan, validation, renditions: state.renditions }));
    await step(state, 'index', () => indexFile({ fileId, tenantId }));
    outcome = 'READY';
  } catch (error) {
    const failure = error instanceof ActivityFailure ? error.cause : error;
    if (failure instanceof ApplicationFailure && failure.type === 'Infected') {
      outcome = 'INFECTED';
      const { signature, sha256 } = infectedDetails(failure);
      state.sha256 ??= sha256;
      reason = signature ? `malware detected: ${signature}` : `malware detected: ${failure.message}`;
    } else if (failure instanceof ApplicationFailure && failure.type === 'Rejected') {
      outcome = 'REJECTED';
      reason = failure.message;
    } else {
      outcome = 'FAILED';
      reason = describe(error);
    }
    markRemainingSkipped(state);
  }

  if (outcome !== 'READY' && state.renditions.length > 0) {
    // Compensation: renditions of a file that will never be served must not be left behind.
    await removeRenditions({ keys: state.renditions.map((r: Rendition) => r.key) });
    state.renditions = [];
  }

  const completedAt = new Date();
  const final: FileState = {
    ...state,
    status: outcome,
    reason,
    completedAt: completedAt.toISOString(),
    expiresAt: new Date(completedAt.getTime() + input.retentionMs).toISOString(),
  };
  try {
    await recordFile(snapshot(final));
  } catch (error) {
    if (outcome === 'READY') {
      // A file Postgres does not know as READY must not be announced as ready.
      final.status = 'FAILED';
      final.reason = `recording the file failed: ${describe(error)}`;
      outcome = 'FAILED';
      if (final.renditions.length > 0) {
        await removeRenditions({ keys: final.renditions.map((r) => r.key) });
        final.renditions = [];
      }
      await recordFile(snapshot(final)).catch((again: unknown) =>
        log.error('recording the FAILED outcome failed too', { error: describe(again) }),
      );
    } else {
      log.error('recording the outcome failed', { error: describe(error) });
    }
  }
  Object.assign(state, final);
  upsertState(state);
  return outcome;
}

/**
 * Plans the targets for an event and delivers to each concurrently, all with one message id that is
 * stable across retries (receivers de-duplicate on it). Never throws: a delivery that exhausts its
 * retries or is refused is recorded on the notify step; the file's status does not depend on it.
 */
async function notify(
  acts: StepActivities,
  state: FileState,
  event: WebhookEvent,
  callbackUrl: string | null,
  tracked: boolean,
) {
  if (tracked) markStep(state, 'notify', 'running', null);
  const messageId = `msg_${state.fileId}_${event}`;
  let problems: string[];
  let cancelled = false;
  try {
    const targets: WebhookTarget[] = await acts.planNotifications({
      tenantId: state.tenantId,
      fileId: state.fileId,
      event,
      callbackUrl,
    });
    const file = snapshot(state);
    const results = await Promise.allSettled(
      targets.map((target) =>
        deliverWebhook({ messageId, tenantId: state.tenantId, fileId: state.fileId, event, target, file }),
      ),
    );
    problems = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${targets[i]?.url ?? 'target'}: ${describe(r.reason)}`] : [],
    );
    cancelled = results.some((r) => r.status === 'rejected' && isCancellation(r.reason));
  } catch (error) {
    problems = [describe(error)];
    cancelled = isCancellation(error);
  }
  if (problems.length > 0) log.warn('webhook delivery failed', { event, problems });
  if (!tracked) return;
  if (cancelled) markStep(state, 'notify', 'failed', 'cancelled: the file was deleted before delivery finished');
  else if (problems.length > 0) markStep(state, 'notify', 'failed', problems.join('; '));
  else markStep(state, 'notify', 'done', null);
  // Readers of a finished file see Postgres, so the notify step's outcome is recorded there too.
  // Patched: runs recorded before this change did not issue this activity.
  if (!cancelled && patched('record-notify-outcome')) {
    await acts
      .recordFile(snapshot(state))
      .catch((error: unknown) => log.warn('could not record the notify step', { error: describe(error) }));
  }
}

/** Runs one step's activity and keeps the step's state, attempts and timestamps current. */
async function step<T>(state: FileState, name: StepName, run: () => Promise<T>): Promise<T> {
  const s = state.steps[name];
  s.state = 'running';
  s.startedAt = new Date().toISOString();
  s.attempts = Math.max(s.attempts, 1);
  try {
    const result = await run();
    markStep(state, name, 'done', null);
    return result;
  } catch (error) {
    markStep(state, name, 'failed', describe(error));
    throw error;
  }
}

function markStep(state: FileState, name: StepName, to: FileState['steps'][StepName]['state'], error: string | null) {
  const s = state.steps[name];
  const now = new Date().toISOString();
  s.state = to;
  if (to === 'running') {
    s.startedAt = now;
    s.attempts = Math.max(s.attempts, 1);
    s.finishedAt = null;
  } else {
    s.finishedAt = now;
  }
  s.error = error;
}

function markRemainingSkipped(state: FileState) {
  for (const name of STEP_NAMES) {
    if (name !== 'notify' && state.steps[name].state === 'pending') markStep(state, name, 'skipped', null);
  }
}

function initialState(input: UploadInput): FileState {
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

/** Mirrors the state into the search attributes the Temporal UI lists and filters by. */
function upsertState(state: FileState) {
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

function historyTooLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS;
}

/** A deep copy, so an activity's input is the state at call time, not what it later becomes. */
function snapshot(state: FileState): FileState {
  return JSON.parse(JSON.stringify(state)) as FileState;
}

function infectedDetails(failure: ApplicationFailure): { signature: string | null; sha256: string | null } {
  const details = failure.details?.[0];
  if (typeof details !== 'object' || details === null) return { signature: null, sha256: null };
  const { signature, sha256 } = details as Partial<Record<keyof InfectedDetails, unknown>>;
  return {
    signature: typeof signature === 'string' ? signature : null,
    sha256: typeof sha256 === 'string' ? sha256 : null,
  };
}

function describe(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return describe(error.cause);
  if (isCancellation(error)) return 'cancelled';
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
