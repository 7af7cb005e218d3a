import {
  ActivityFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ValidateResult } from '../activities/types';
import {
  PDF_CONTENT_TYPE,
  type DeletionReason,
  type FileState,
  type Rendition,
  type TerminalStatus,
  type UploadInput,
} from '../common/domain';
import { FailureTypes, infectedDetailsOf, isFailureOfType, rateLimited, rejected } from '../common/failures';
import {
  activityAttemptSignal,
  batchMemberDoneSignal,
  deleteSignal,
  retentionUpdate,
  statusQuery,
} from '../common/messages';
import { batchWorkflowIdFor } from '../common/task-queues';
import {
  deleteArtifacts,
  makeRenditions,
  removeRenditions,
  stepActivitiesFor,
  type StepActivities,
} from './activity-proxies';
import { ChangeBudget } from './change-budget';
import { EventPublisher } from './event-publishing';
import {
  announceDeletion,
  announceOutcome,
  fileEvent,
  newAnnouncement,
  type PendingAnnouncement,
} from './notifications';
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
 * Retention changes a run accepts per minute (bounded-history patch). Each costs about eight events,
 * so a client looping on PATCH adds at most ~80 events a minute, which continue-as-new trims.
 */
export const RETENTION_CHANGES_PER_MINUTE = 10;

/**
 * Patches whose calls sit after a step's result. Since the early-patches patch a run decides them all
 * in its first activation, before any local activity: Temporal's core can record the commands that
 * follow a local activity's result one workflow task after the result's marker (seen under load), and
 * a replay, which learns of a task's patches only when it reaches that task, then meets the patch call
 * first, answers "not patched" and fails on the marker. Decided up front, every marker precedes the
 * first local activity, and the later calls only read the decision.
 */
const PATCHES_DECIDED_EARLY = [
  'hold-refuses-delete',
  'quarantine-retention',
  'persistent-duties',
  'record-notify-outcome',
  'batch-member',
] as const;

/** What a run hands the next one besides the file's state. */
export interface CarriedWork {
  /** An outcome announcement whose deliveries were still retrying. */
  announcement?: PendingAnnouncement;
  /** When the retention changes still inside the budget's window were accepted (epoch ms). */
  recentChanges?: number[];
}

/**
 * One workflow per uploaded file: scan → validate → resize (images, a PDF's thumb) → store → index → record, then
 * notify, then wait on the retention timer and delete every artifact. `carried` is the state handed
 * over by continue-as-new; when present, processing is already done and only retention remains, with
 * any outcome deliveries still owed in `carriedWork`.
 */
export async function uploadWorkflow(
  input: UploadInput,
  carried?: FileState,
  carriedWork?: CarriedWork,
): Promise<FileState> {
  const state: FileState = carried ?? newFileState(input);
  // Chosen once per run: histories recorded before this change carry no `local-steps` marker, so on
  // replay they keep every remote activity and every search-attribute upsert they issued.
  const localSteps = patched('local-steps');
  // Retention changes are budgeted, their upserts coalesced, and continue-as-new no longer waits for
  // outcome deliveries (they move to the next run); a delete cancels processing in flight.
  const boundedHistory = patched('bounded-history');
  // Every event told to webhooks is also published to the events topic.
  const events = new EventPublisher(patched('events-topic'));
  if (patched('early-patches')) for (const id of PATCHES_DECIDED_EARLY) patched(id);
  // A PDF goes through the resize step too, for the thumb of its first page. Decided here, in the first
  // activation, like the patches above: runs recorded before it skip resizing their PDFs on replay.
  const pdfThumbnail = patched('pdf-thumbnail');
  const activities = stepActivitiesFor(input, localSteps);
  let deleteRequested: DeletionReason | null = null;
  let retentionChanged = false;
  const bounds = retentionBounds(input);
  const changeBudget = new ChangeBudget(RETENTION_CHANGES_PER_MINUTE, 60_000, carriedWork?.recentChanges);
  // The processing steps run in this scope, so a delete can stop them where they are.
  const processing = new CancellationScope();

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
    if (boundedHistory && state.status === 'PROCESSING') processing.cancel();
  });
  setHandler(activityAttemptSignal, (report) => recordAttempt(state, report));
  setHandler(
    retentionUpdate,
    (change) => {
      Object.assign(state, applyRetentionChange(state, change));
      retentionChanged = true;
      if (boundedHistory) changeBudget.spend(Date.now());
      // Coalesced: the retention loop mirrors once per wake, however many changes arrived.
      else mirrorSearchAttributes(state);
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
        // A refused update leaves no event in the history; an accepted one does, so they are budgeted.
        const waitMs = boundedHistory ? changeBudget.waitBefore(Date.now()) : null;
        if (waitMs !== null) {
          throw rateLimited(
            `too many retention changes for this file: at most ${RETENTION_CHANGES_PER_MINUTE} a minute; retry in ${Math.ceil(waitMs / 1000)} s`,
            waitMs,
          );
        }
      },
    },
  );

  // A fresh upload's workflow is started with its search attributes (status, tenant, filename, hold);
  // upserting them again would only add a visibility write.
  if (!localSteps || carried !== undefined) mirrorSearchAttributes(state);

  // The batch hears of the outcome beside the announcement; it is awaited before the run ends.
  let batchTold: Promise<void> = Promise.resolve();

  // Outcome deliveries run beside the retention wait: a webhook retrying for a day must never hold
  // up expiry or a delete.
  let outcomeDeliveries = new CancellationScope();
  let pendingDeliveries = 0;
  let announcement: PendingAnnouncement | undefined = carriedWork?.announcement;
  const announce = (pending: PendingAnnouncement) => {
    announcement = pending;
    pendingDeliveries++;
    void outcomeDeliveries
      .run(() => announceOutcome(activities, state, pending, input.callbackUrl))
      .finally(() => {
        pendingDeliveries--;
        if (!pending.handedOver) announcement = undefined;
      });
  };

  if (carried === undefined) {
    let outcome: Outcome | null;
    try {
      outcome = boundedHistory
        ? await processing.run(() =>
            processUpload(input, state, activities, { localSteps, pdfThumbnail }, boundedHistory),
          )
        : await processUpload(input, state, activities, { localSteps, pdfThumbnail }, boundedHistory);
    } catch (error) {
      // Only a delete cancels processing; the steps were stopped, and the deletion below removes what
      // they wrote.
      if (!(isCancellation(error) && deleteRequested !== null)) throw error;
      outcome = null;
      markRemainingSkipped(state);
      log.info('processing cancelled: the file was deleted');
    }
    if (outcome !== null) batchTold = tellBatch(input, outcome);
    if (deleteRequested === null && outcome !== null) {
      events.publish(fileEvent(state, outcome));
      announce(newAnnouncement(outcome));
    } else {
      markStep(state, 'notify', 'skipped', 'the file was deleted before its outcome was announced');
    }
  } else if (announcement !== undefined) {
    announce(announcement);
  }

  // Retention: a durable timer that signals, updates and holds can move.
  let reason: DeletionReason;
  for (;;) {
    if (retentionChanged) {
      retentionChanged = false;
      if (boundedHistory) mirrorSearchAttributes(state);
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
    if (historyTooLong() && (boundedHistory || pendingDeliveries === 0)) {
      // Bounded history: start a fresh run carrying the state; the timer is re-armed from expiresAt,
      // and deliveries still retrying are handed over with the targets they still owe.
      let handover: PendingAnnouncement | undefined;
      if (announcement !== undefined) {
        handover = announcement;
        handover.handedOver = true;
        outcomeDeliveries.cancel();
        await condition(() => pendingDeliveries === 0);
      }
      await condition(allHandlersFinished);
      await batchTold;
      await events.settled();
      if (!retentionChanged && deleteRequested === null) {
        const work: CarriedWork = { recentChanges: changeBudget.recent(Date.now()) };
        if (handover !== undefined) work.announcement = { ...handover, handedOver: false };
        return await continueAsNew<typeof uploadWorkflow>(input, snapshot(state), work);
      }
      // A change or a delete came in meanwhile and is handled in this run first.
      if (handover !== undefined) {
        if (deleteRequested === null) {
          outcomeDeliveries = new CancellationScope();
          announce({ ...handover, handedOver: false });
        } else {
          markStep(state, 'notify', 'failed', 'cancelled: the file was deleted before delivery finished');
        }
      }
      continue;
    }
    const wake = () =>
      deleteRequested !== null || retentionChanged || (historyTooLong() && (boundedHistory || pendingDeliveries === 0));
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
  await batchTold;
  // Deleted before processing ended: the deletion is this file's terminal status, and its batch's due.
  if (carried === undefined && state.completedAt === null) await tellBatch(input, 'DELETED');
  // Deletion is done; the workflow stays open only while file.deleted is delivered (bounded by the
  // delivery's 25-hour schedule-to-close timeout) so every endpoint hears about it, and published.
  events.publish(fileEvent(state, 'file.deleted'));
  await announceDeletion(activities, state, input.callbackUrl);
  await events.settled();
  await condition(allHandlersFinished);
  return state;
}

/** The run's patches that change what the processing steps do. */
interface ProcessingPatches {
  localSteps: boolean;
  pdfThumbnail: boolean;
}

/** Runs the processing steps and leaves `state` at its outcome, recorded and mirrored. */
async function processUpload(
  input: UploadInput,
  state: FileState,
  activities: StepActivities,
  { localSteps, pdfThumbnail }: ProcessingPatches,
  cancellable: boolean,
): Promise<Outcome> {
  const { fileId, tenantId } = input;
  const { scanFile, validateFile, storeFile, indexFile, recordFile } = activities;
  let outcome: Outcome;
  let reason: string | null = null;
  try {
    // A batch part refused on arrival (empty, too large) still becomes a file, REJECTED without a step.
    if (input.refusal !== undefined && patched('batch-member')) {
      markStep(state, 'validate', 'failed', input.refusal);
      throw rejected(input.refusal);
    }
    const scan = await runStep(state, 'scan', () => scanFile({ fileId, tenantId, key: input.incomingKey }));
    state.sha256 = scan.sha256;
    state.size = scan.size;

    // A direct upload's declaration rides along to the validate step, which rejects what does not match.
    // No patch: the commands are the same ones, only this activity's input (and so its verdict) differs.
    const validation: ValidateResult = await runStep(state, 'validate', () =>
      validateFile({
        fileId,
        key: input.incomingKey,
        size: scan.size,
        declaredContentType: input.declaredContentType,
        ...(input.declared ? { sha256: scan.sha256, declared: input.declared } : {}),
      }),
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
    } else if (pdfThumbnail && validation.contentType === PDF_CONTENT_TYPE) {
      state.renditions = await pdfThumbnailStep(state, () =>
        makeRenditions({ fileId, tenantId, key: input.incomingKey, contentType: PDF_CONTENT_TYPE }),
      );
    } else {
      markStep(state, 'resize', 'skipped', null);
    }

    await runStep(state, 'store', () => storeFile({ upload: input, scan, validation, renditions: state.renditions }));
    await runStep(state, 'index', () => indexFile({ fileId, tenantId }));
    outcome = 'READY';
  } catch (error) {
    // A delete stopped the steps: there is no outcome to record (bounded-history patch).
    if (cancellable && isCancellation(error)) throw error;
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

/**
 * Tells the file's batch, if it has one, the file's terminal status (batch-member patch). Never throws:
 * a batch that cannot be told (it is gone) must not change the file's own story.
 */
async function tellBatch(input: UploadInput, status: TerminalStatus): Promise<void> {
  if (input.batchId === undefined || !patched('batch-member')) return;
  try {
    await getExternalWorkflowHandle(batchWorkflowIdFor(input.batchId)).signal(batchMemberDoneSignal, {
      fileId: input.fileId,
      status,
    });
  } catch (error) {
    log.error('could not tell the batch of this file', { batchId: input.batchId, error: failureMessage(error) });
  }
}

/**
 * The resize step of a PDF. Its thumb is a view of the file, not a verdict on it: a first page that
 * cannot be drawn (NoThumbnail) leaves the file READY without a thumb, the step skipped with the reason.
 * Other failures (S3, retries spent) fail the upload as an image's resize does.
 */
async function pdfThumbnailStep(state: FileState, make: () => Promise<Rendition[]>): Promise<Rendition[]> {
  try {
    return await runStep(state, 'resize', make);
  } catch (error) {
    const failure = error instanceof ActivityFailure ? error.cause : error;
    if (!isFailureOfType(failure, FailureTypes.NoThumbnail)) throw error;
    markStep(state, 'resize', 'skipped', failure.message);
    log.warn('the PDF is kept without a thumbnail', { reason: failure.message });
    return [];
  }
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
