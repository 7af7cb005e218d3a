import { isCancellation, log, patched } from '@temporalio/workflow';
import type { WebhookTarget } from '../activities/types';
import type { FileState, WebhookEvent } from '../common/domain';
import { deliverWebhook, type StepActivities } from './activity-proxies';
import { failureMessage, markStep, snapshot, type Outcome } from './upload-state';
import { redactUrl } from '../common/redact';

/*
 * Webhook announcements. Each plans the targets for an event and delivers to each concurrently, all
 * with one message id that is stable across retries (receivers de-duplicate on it). Neither throws: a
 * delivery that exhausts its retries or is refused is logged (and, for the outcome, recorded on the
 * notify step); the file's status does not depend on it.
 */

const OUTCOME_EVENT: Record<Outcome, WebhookEvent> = {
  READY: 'file.ready',
  REJECTED: 'file.rejected',
  INFECTED: 'file.infected',
  FAILED: 'file.failed',
};

/** Announces how processing ended, tracked on the notify step the status query and the file row show. */
export async function announceOutcome(
  activities: StepActivities,
  state: FileState,
  outcome: Outcome,
  callbackUrl: string | null,
) {
  markStep(state, 'notify', 'running', null);
  const { problems, cancelled } = await deliver(activities, state, OUTCOME_EVENT[outcome], callbackUrl);
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
  await deliver(activities, state, 'file.deleted', callbackUrl);
}

async function deliver(
  activities: StepActivities,
  state: FileState,
  event: WebhookEvent,
  callbackUrl: string | null,
): Promise<{ problems: string[]; cancelled: boolean }> {
  const messageId = `msg_${state.fileId}_${event}`;
  let problems: string[];
  let cancelled = false;
  try {
    const targets: WebhookTarget[] = await activities.planNotifications({
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
      r.status === 'rejected'
        ? [`${targets[i] ? redactUrl(targets[i].url) : 'target'}: ${failureMessage(r.reason)}`]
        : [],
    );
    cancelled = results.some((r) => r.status === 'rejected' && isCancellation(r.reason));
  } catch (error) {
    problems = [failureMessage(error)];
    cancelled = isCancellation(error);
  }
  if (problems.length > 0) log.warn('webhook delivery failed', { event, problems });
  return { problems, cancelled };
}
