import { isCancellation, log, patched } from '@temporalio/workflow';
import type { IntakeEvent, WebhookTarget } from '../activities/types';
import type { BatchCompletion, FileEvent, FileState, WebhookEvent } from '../common/domain';
import {
  deliverWebhook,
  deliverWebhookWithin,
  planNotifications,
  WEBHOOK_DELIVERY_WINDOW_MS,
  type StepActivities,
} from './activity-proxies';
import { failureMessage, markStep, snapshot, type Outcome } from './upload-state';
import { redactUrl } from '../common/redact';

/*
 * Webhook announcements. Each plans the targets for an event and delivers to each concurrently, all
 * with one message id that is stable across retries (receivers de-duplicate on it). Neither throws: a
 * delivery that exhausts its retries or is refused is logged (and, for the outcome, recorded on the
 * notify step); the file's status does not depend on it.
 */

const OUTCOME_EVENT: Record<Outcome, FileEvent> = {
  READY: 'file.ready',
  REJECTED: 'file.rejected',
  INFECTED: 'file.infected',
  FAILED: 'file.failed',
};

/** The event of an outcome or a deletion, with the message id its webhooks carry too. */
export function fileEvent(state: FileState, event: Outcome | 'file.deleted'): IntakeEvent {
  const type = event === 'file.deleted' ? event : OUTCOME_EVENT[event];
  return {
    messageId: messageIdFor(state.fileId, type),
    tenantId: state.tenantId,
    fileId: state.fileId,
    event: type,
    file: snapshot(state),
  };
}

/** The event of a batch's completion. */
export function batchCompletedEvent(completion: BatchCompletion): IntakeEvent {
  return {
    messageId: messageIdFor(completion.batchId, 'batch.completed'),
    tenantId: completion.tenantId,
    fileId: completion.batchId,
    event: 'batch.completed',
    batch: completion,
  };
}

/** One id per event, stable across retries and runs: webhook receivers and topic consumers de-duplicate on it. */
const messageIdFor = (subjectId: string, event: WebhookEvent) => `msg_${subjectId}_${event}`;

/**
 * An outcome announcement and what it still owes. The workflow can hand it to its next run
 * (continue-as-new) while deliveries still retry, so a webhook retrying for a day never keeps the
 * history growing: the next run delivers to the targets left, within the window that began here.
 */
export interface PendingAnnouncement {
  outcome: Outcome;
  /** The targets that have not heard of the outcome yet; null until they are planned. */
  targets: WebhookTarget[] | null;
  /** Why targets that are done failed, for the notify step. */
  problems: string[];
  /** When the announcement began (ISO): its deliveries keep the 25-hour window from then. */
  startedAt: string;
  /** Set when this run cancels the deliveries to hand them over; the notify step stays `running`. */
  handedOver?: boolean;
}

export function newAnnouncement(outcome: Outcome): PendingAnnouncement {
  return { outcome, targets: null, problems: [], startedAt: new Date().toISOString() };
}

/** Announces how processing ended, tracked on the notify step the status query and the file row show. */
export async function announceOutcome(
  activities: StepActivities,
  state: FileState,
  announcement: PendingAnnouncement,
  callbackUrl: string | null,
) {
  markStep(state, 'notify', 'running', null);
  const event = OUTCOME_EVENT[announcement.outcome];
  const { cancelled } = await deliver(activities, state, event, callbackUrl, announcement);
  if (announcement.handedOver) return;
  const { problems } = announcement;
  if (cancelled) markStep(state, 'notify', 'failed', 'cancelled: the file was deleted before delivery finished');
  else if (problems.length > 0) markStep(state, 'notify', 'failed', problems.join('; '));
  else markStep(state, 'notify', 'done', null);
  // Readers of a finished file see Postgres, so the notify step's outcome is recorded there too.
  // Patched: runs recorded before this change did not issue this activity.
  if (!cancelled && patched('record-notify-outcome')) {
    await activities
      .recordFile(snapshot(state))
      .catch((error: unknown) => log.warn('could not record the notify step', { error: failureMessage(error) }));
  }
}

/** Announces the deletion; the notify step keeps the outcome's delivery, which is what it reports. */
export async function announceDeletion(activities: StepActivities, state: FileState, callbackUrl: string | null) {
  const announcement: PendingAnnouncement = { ...newAnnouncement('READY'), targets: null };
  await deliver(activities, state, 'file.deleted', callbackUrl, announcement);
}

/**
 * Plans (unless the announcement already has its targets) and delivers `event`, taking each target off
 * `announcement.targets` once it settled, so a cancelled announcement knows who is still owed.
 */
async function deliver(
  activities: StepActivities,
  state: FileState,
  event: FileEvent,
  callbackUrl: string | null,
  announcement: PendingAnnouncement,
): Promise<{ cancelled: boolean }> {
  const messageId = messageIdFor(state.fileId, event);
  const before = announcement.problems.length;
  let cancelled = false;
  // Chosen before planning, while workflow time still equals a fresh announcement's start: a first run
  // issues exactly the delivery it always did.
  const send = deliveryFor(announcement);
  try {
    announcement.targets ??= await activities.planNotifications({
      tenantId: state.tenantId,
      fileId: state.fileId,
      event,
      callbackUrl,
    });
    const file = snapshot(state);
    await Promise.all(
      [...announcement.targets].map(async (target) => {
        try {
          await send({ messageId, tenantId: state.tenantId, fileId: state.fileId, event, target, file });
        } catch (error) {
          if (isCancellation(error)) {
            cancelled = true;
            return;
          }
          announcement.problems.push(`${redactUrl(target.url)}: ${failureMessage(error)}`);
        }
        announcement.targets = (announcement.targets ?? []).filter((t) => t !== target);
      }),
    );
  } catch (error) {
    cancelled = isCancellation(error);
    if (!cancelled) announcement.problems.push(failureMessage(error));
  }
  const problems = announcement.problems.slice(before);
  if (problems.length > 0) log.warn('webhook delivery failed', { event, problems });
  return { cancelled };
}

/** The delivery proxy: the usual one, or one bounded by what is left of a resumed announcement's window. */
function deliveryFor(announcement: PendingAnnouncement) {
  const leftMs = Date.parse(announcement.startedAt) + WEBHOOK_DELIVERY_WINDOW_MS - Date.now();
  if (leftMs >= WEBHOOK_DELIVERY_WINDOW_MS) return deliverWebhook;
  return deliverWebhookWithin(Math.max(leftMs, 60_000));
}

/**
 * Announces a batch's completion to the tenant's endpoints and the batch's callback URL, once: the
 * batch workflow runs this after recording the batch DONE, with one message id per batch.
 */
export async function announceBatchCompleted(completion: BatchCompletion, callbackUrl: string | null) {
  const event = 'batch.completed' as const;
  const messageId = messageIdFor(completion.batchId, event);
  const { batchId, tenantId } = completion;
  const problems: string[] = [];
  try {
    const targets = await planNotifications({ tenantId, fileId: batchId, event, callbackUrl });
    await Promise.all(
      targets.map(async (target) => {
        try {
          await deliverWebhook({ messageId, tenantId, fileId: batchId, event, target, batch: completion });
        } catch (error) {
          problems.push(`${redactUrl(target.url)}: ${failureMessage(error)}`);
        }
      }),
    );
  } catch (error) {
    problems.push(failureMessage(error));
  }
  if (problems.length > 0) log.warn('webhook delivery failed', { event, problems });
}
