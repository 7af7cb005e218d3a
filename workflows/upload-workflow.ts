import {
  ActivityFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ValidateResult } from '../activities/types';
import type { DeletionReason, FileState, UploadInput } from '../common/domain';
import { FailureTypes, infectedDetailsOf, isFailureOfType } from '../common/failures';
import { activityAttemptSignal, deleteSignal, retentionUpdate, statusQuery } from '../common/messages';
import {
  deleteArtifacts,
  makeRenditions,
  removeRenditions,
  stepActivitiesFor,
  type StepActivities,
} from './activity-proxies';
import { announceDeletion, announceOutcome } from './notifications';
import { persistently } from './persistent-duty';
import { applyRetentionChange, retentionBounds, retentionChangeRefusal } from './retention-change';
import {
  failureMessage,
  markRemainingSkipped,
  markStep,
  mirrorSearchAttributes,
  newFileState,
  recordAttempt,
  runStep,
  snapshot,
  type Outcome,
} from './upload-state';

/*
 * Versioning: workflows wait for days on their retention timer, so any change to the commands this
 * code issues (activities, timers, markers, search-attribute upserts, their order) must be gated with
 * `patched('<change-id>')` and proven by the replay test (test/workflow/replay.test.ts with the
 * histories in test/workflow/histories).
 */

/** Continue-as-new well before Temporal's own warning so a long wait never drags a big history. */
const MAX_HISTORY_EVENTS = 2_000;

/**
 * One workflow per uploaded file: scan → validate → resize (images) → store → index → record, then
 * notify, then wait on the retention timer and delete every artifact. `carried` is the state handed
 * over by continue-as-new; when present, processing is already done and only retention remains.
 */
export async function uploadWorkflow(input: UploadInput, carried?: FileState): Promise<FileState> {
  const state: FileState = carried ?? newFileState(input);
  // Chosen once per run: histories recorded before this change carry no `local-steps` marker, so on
  // replay they keep every remote activity and every search-attribute upsert they issued.
  const localSteps = patched('local-steps');
  const activities = stepActivitiesFor(input, localSteps);
  let deleteRequested: DeletionReason | null = null;
  let retentionChanged = false;
  const bounds = retentionBounds(input);

  // Handlers first, so a query, signal or update that arrives with the first task is never lost.
  setHandler(statusQuery, () => state);
  setHandler(deleteSignal, ({ reason }) => {
    if (state.status === 'DELETED' || deleteRequested !== null) return;
    // The workflow, not the API's possibly stale view, keeps a legal hold: a delete sent from the
    // Temporal UI or CLI, or racing the API's own check, is refused and recorded.
    if (state.hold && patched('hold-refuses-delete')) {
      state.refusedDeletes = (state.refusedDeletes ?? 0) + 1;
      log.warn('delete refused: the file is under a legal hold', { refusedDeletes: state.refusedDeletes });
      return;
    }
    deleteRequested = reason ?? 'requested';
  });
  setHandler(activityAttemptSignal, (report) => recordAttempt(state, report));
  setHandler(
    retentionUpdate,
    (change) => {
      Object.assign(state, applyRetentionChange(state, change));
      retentionChanged = true;
      mirrorSearchAttributes(state);
      return { expiresAt: state.expiresAt, hold: state.hold };
    },
    {
      validator: (change) => {
        const refusal = retentionChangeRefusal(change, {
          file: state,
          deleting: deleteRequested !== null,
          bounds,
          now: Date.now(),
        });
        if (refusal !== null) throw new Error(refusal);
      },
    },
  );

  // A fresh upload's workflow is started with its search attributes (status, tenant, filename, hold);
  // upserting them again would only add a visibility write.
  if (!localSteps || carried !== undefined) mirrorSearchAttributes(state);

  // Outcome deliveries run beside the retention wait: a webhook retrying for a day must never hold
  // up expiry or a delete.
  const outcomeDeliveries = new CancellationScope();
  let pendingDeliveries = 0;

  if (carried === undefined) {
    const outcome = await processUpload(input, state, activities, localSteps);
    if (deleteRequested === null) {
      pendingDeliveries++;
      void outcomeDeliveries
        .run(() => announceOutcome(activities, state, outcome, input.callbackUrl))
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
      await activities
        .recordFile(snapshot(state))
        .catch((error: unknown) => log.error('could not record a retention change', { error: failureMessage(error) }));
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
  // Deletion is the workflow's last duty: it never ends with artifacts left (persistent-duties patch).
  const persistent = patched('persistent-duties');
  const duty = <T>(name: string, attempt: () => Promise<T>): Promise<T> =>
    persistent ? persistently(name, attempt, (trouble) => (state.attention = trouble)) : attempt();
  await duty('deleting the artifacts', () =>
    deleteArtifacts({ fileId: state.fileId, tenantId: state.tenantId, reason }),
  );
  state.renditions = [];
  state.status = 'DELETED';
  state.deletedAt = new Date().toISOString();
  state.deletionReason = reason;
  await duty('recording the deletion', () => activities.recordFile(snapshot(state)));
  mirrorSearchAttributes(state);
  // Deletion is done; the workflow stays open only while file.deleted is delivered (bounded by the
  // delivery's 25-hour schedule-to-close timeout) so every endpoint hears about it.
  await announceDeletion(activities, state, input.callbackUrl);
  await condition(allHandlersFinished);
  return state;
}

/** Runs the processing steps and leaves `state` at its outcome, recorded and mirrored. */
async function processUpload(
  input: UploadInput,
  state: FileState,
  activities: StepActivities,
  localSteps: boolean,
): Promise<Outcome> {
  const { fileId, tenantId } = input;
  const { scanFile, validateFile, storeFile, indexFile, recordFile } = activities;
  let outcome: Outcome;
  let reason: string | null = null;
  try {
    const scan = await runStep(state, 'scan', () => scanFile({ fileId, tenantId, key: input.incomingKey }));
    state.sha256 = scan.sha256;
    state.size = scan.size;

    const validation: ValidateResult = await runStep(state, 'validate', () =>
      validateFile({ fileId, key: input.incomingKey, size: scan.size, declaredContentType: input.declaredContentType }),
    );
    state.contentType = validation.contentType;
    state.width = validation.width;
    state.height = validation.height;
    // The content type is mirrored with the outcome a moment later; only old runs upserted it here.
    if (!localSteps) mirrorSearchAttributes(state);

    if (validation.isImage) {
      state.renditions = await runStep(state, 'resize', () =>
        makeRenditions({ fileId, tenantId, key: input.incomingKey }),
      );
    } else {
      markStep(state, 'resize', 'skipped', null);
    }

    await runStep(state, 'store', () => storeFile({ upload: input, scan, validation, renditions: state.renditions }));
    await runStep(state, 'index', () => indexFile({ fileId, tenantId }));
    outcome = 'READY';
  } catch (error) {
    const failure = error instanceof ActivityFailure ? error.cause : error;
    if (isFailureOfType(failure, FailureTypes.Infected)) {
      outcome = 'INFECTED';
      const { signature, sha256 } = infectedDetailsOf(failure);
      state.sha256 ??= sha256;
      reason = signature ? `malware detected: ${signature}` : `malware detected: ${failure.message}`;
    } else if (isFailureOfType(failure, FailureTypes.Rejected)) {
      outcome = 'REJECTED';
      reason = failure.message;
    } else {
      outcome = 'FAILED';
      reason = failureMessage(error);
    }
    markRemainingSkipped(state);
  }

  if (outcome !== 'READY') await discardRenditions(state);

  const completedAt = new Date();
  const completed: FileState = {
    ...state,
    status: outcome,
    reason,
    completedAt: completedAt.toISOString(),
    expiresAt: new Date(completedAt.getTime() + retentionFor(input, outcome)).toISOString(),
  };
  try {
    await recordFile(snapshot(completed));
  } catch (error) {
    if (outcome === 'READY') {
      // A file Postgres does not know as READY must not be announced as ready.
      completed.status = 'FAILED';
      completed.reason = `recording the file failed: ${failureMessage(error)}`;
      outcome = 'FAILED';
      await discardRenditions(completed);
      await recordFile(snapshot(completed)).catch((again: unknown) =>
        log.error('recording the FAILED outcome failed too', { error: failureMessage(again) }),
      );
    } else if (patched('persistent-duties')) {
      // A row left PROCESSING would never change again: keep trying, visibly.
      await persistently(
        'recording the outcome',
        () => recordFile(snapshot(completed)),
        (trouble) => (completed.attention = trouble),
      );
    } else {
      log.error('recording the outcome failed', { error: failureMessage(error) });
    }
  }
  Object.assign(state, completed);
  mirrorSearchAttributes(state);
  return outcome;
}

/**
 * How long the file is kept after its outcome. An infected file's quarantined copy is evidence, kept
 * for the quarantine retention rather than the upload's own (inputs from before carry none).
 */
function retentionFor(input: UploadInput, outcome: Outcome): number {
  if (outcome !== 'INFECTED' || input.quarantineRetentionMs === undefined) return input.retentionMs;
  return patched('quarantine-retention') ? input.quarantineRetentionMs : input.retentionMs;
}

/** Compensation: the renditions of a file that will never be served must not be left behind. */
async function discardRenditions(state: FileState) {
  if (state.renditions.length === 0) return;
  await removeRenditions({ keys: state.renditions.map((rendition) => rendition.key) });
  state.renditions = [];
}

function historyTooLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS;
}
