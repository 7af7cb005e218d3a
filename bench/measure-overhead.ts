import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { IntakeClient } from '../api/client';
import { waitForOutcomes } from './measure-pipeline';
import { percentile, round } from './stats';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface OverheadSample {
  /** Workflow start → READY recorded, minus the activities' own run time (what orchestration adds). */
  overheadMs: number;
  /** Workflow start → READY recorded. */
  workflowMs: number;
  /** Sum of the activities' own run times, scan … record, as the worker's SDK timed them. */
  activitiesMs: number;
  activities: number;
  /** How many of them ran as local activities (inside a workflow task, no server round trip). */
  localActivities: number;
  /** Sum of ActivityTaskScheduled → ActivityTaskStarted: waiting for a worker to pick the task up. */
  dispatchMs: number;
  /** Time inside workflow tasks (started → completed) not spent in local activities: the worker's own share. */
  inWorkflowTasksMs: number;
  /** Each activity's own run time by type, ms. */
  byActivity: Record<string, number>;
  /** Client's POST → 202 (upload streamed to S3, row written, workflow started). */
  acceptMs: number;
  /** Client's POST → READY seen in Postgres. */
  endToEndMs: number;
}

const toMs = (time: HistoryEvent['eventTime']): number => {
  if (!time) throw new Error('history event without a time');
  return Number(time.seconds ?? 0) * 1000 + (time.nanos ?? 0) / 1e6;
};

/** One activity execution as the worker's SDK timed it around the activity function. */
export interface ActivityRun {
  workflowId: string;
  activityType: string;
  isLocal: boolean;
  durationMs: number;
}

/**
 * The SDK logs "Activity completed" with `durationMs` (its own clock around the activity function) at
 * debug level, for remote and local activities alike; the overhead worker runs at that level.
 */
export function activityRunsFromLog(logText: string): ActivityRun[] {
  const runs: ActivityRun[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('"Activity completed"')) continue;
    try {
      const entry = JSON.parse(line) as Partial<ActivityRun> & { msg?: string };
      if (entry.msg !== 'Activity completed' || typeof entry.durationMs !== 'number' || !entry.workflowId) continue;
      runs.push({
        workflowId: entry.workflowId,
        activityType: entry.activityType ?? '?',
        isLocal: entry.isLocal === true,
        durationMs: entry.durationMs,
      });
    } catch {
      // not a JSON log line
    }
  }
  return runs;
}

/** A local activity's marker names it and carries its completion time (the worker's clock). */
function localActivityCompletion(event: HistoryEvent): { type: string; end: number } | null {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return null;
  const payload = marker.details?.data?.payloads?.[0]?.data;
  if (!payload) return null;
  const data = JSON.parse(Buffer.from(payload).toString('utf8')) as {
    activity_type?: string;
    complete_time?: { seconds?: number | string; nanos?: number };
  };
  if (!data.complete_time) return null;
  return {
    type: data.activity_type ?? '?',
    end: Number(data.complete_time.seconds ?? 0) * 1000 + (data.complete_time.nanos ?? 0) / 1e6,
  };
}

/**
 * READY is the moment the outcome's recordFile completes (it writes status READY to Postgres, where the
 * API reads it): its ActivityTaskCompleted event, or for a local recordFile the completion time in its
 * marker. Everything between the workflow's start and that moment that is not an activity function
 * running — task dispatch, workflow tasks, history writes — is orchestration overhead. The activities'
 * own run times come from the worker (`runs`), the same clock for remote and local ones.
 */
export function overheadFromHistory(
  history: History,
  runs: readonly ActivityRun[],
): Omit<OverheadSample, 'acceptMs' | 'endToEndMs'> {
  const events = history.events ?? [];
  const first = events[0];
  if (!first?.workflowExecutionStartedEventAttributes)
    throw new Error('history does not start with the workflow start');
  const workflowStart = toMs(first.eventTime);
  const remoteType = new Map<string, string>();
  const scheduledAt = new Map<string, number>();
  let dispatchMs = 0;
  let workflowTaskMs = 0;
  let workflowTaskStartedAt: number | undefined;
  let readyAt: number | undefined;
  for (const event of events) {
    if (event.workflowTaskStartedEventAttributes) {
      workflowTaskStartedAt = toMs(event.eventTime);
    } else if (event.workflowTaskCompletedEventAttributes && workflowTaskStartedAt !== undefined) {
      workflowTaskMs += toMs(event.eventTime) - workflowTaskStartedAt;
      workflowTaskStartedAt = undefined;
    } else if (event.activityTaskScheduledEventAttributes) {
      remoteType.set(String(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
      scheduledAt.set(String(event.eventId), toMs(event.eventTime));
    } else if (event.activityTaskStartedEventAttributes) {
      const scheduled = String(event.activityTaskStartedEventAttributes.scheduledEventId);
      dispatchMs += toMs(event.eventTime) - (scheduledAt.get(scheduled) ?? NaN);
    } else if (event.activityTaskCompletedEventAttributes) {
      const scheduled = String(event.activityTaskCompletedEventAttributes.scheduledEventId);
      if (remoteType.get(scheduled) === 'recordFile') readyAt = toMs(event.eventTime);
    } else {
      const local = localActivityCompletion(event);
      if (local?.type === 'recordFile') {
        readyAt = local.end;
        // READY fell inside a workflow task (whose completion event came before its markers).
        workflowTaskMs -= toMs(event.eventTime) - readyAt;
      }
    }
    if (readyAt !== undefined) break;
  }
  if (readyAt === undefined) throw new Error('the workflow has not recorded its outcome');
  const recordIndex = runs.findIndex((r) => r.activityType === 'recordFile');
  if (recordIndex < 0) throw new Error("the worker has not logged the outcome's recordFile yet");
  const upToReady = runs.slice(0, recordIndex + 1);
  const activitiesMs = upToReady.reduce((sum, r) => sum + r.durationMs, 0);
  const localMs = upToReady.reduce((sum, r) => sum + (r.isLocal ? r.durationMs : 0), 0);
  const workflowMs = readyAt - workflowStart;
  return {
    overheadMs: workflowMs - activitiesMs,
    workflowMs,
    activitiesMs,
    activities: upToReady.length,
    localActivities: upToReady.filter((r) => r.isLocal).length,
    dispatchMs,
    inWorkflowTasksMs: workflowTaskMs - localMs,
    byActivity: Object.fromEntries(upToReady.map((r) => [r.activityType, r.durationMs])),
  };
}

/**
 * The worker reports recordFile's completion only after its Postgres write has committed, so the READY
 * row can be seen a moment before the history (or the worker's log) holds the completion: ask again
 * until both do.
 */
async function splitFromHistory(temporal: Client, workflowId: string, workerLog: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
    const runs = activityRunsFromLog(readFileSync(workerLog, 'utf8')).filter((r) => r.workflowId === workflowId);
    try {
      return overheadFromHistory(history, runs);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * One upload at a time through the API, each followed to READY; the workflow history and the worker's
 * log (a worker at debug level: `workerLog`) give the split.
 */
export async function measureOverhead(options: {
  client: IntakeClient;
  temporal: Client;
  pool: pg.Pool;
  images: readonly Buffer[];
  workerLog: string;
}): Promise<OverheadSample[]> {
  const samples: OverheadSample[] = [];
  for (const [i, bytes] of options.images.entries()) {
    const t0 = Date.now();
    const accepted = await options.client.uploadFile(bytes, {
      filename: `overhead-${i}.jpg`,
      contentType: 'image/jpeg',
      mode: 'raw',
    });
    const acceptMs = Date.now() - t0;
    const [row] = await waitForOutcomes(options.pool, [accepted.id], { intervalMs: 5, timeoutMs: 60_000 });
    const endToEndMs = Date.now() - t0;
    if (row?.status !== 'READY') throw new Error(`upload ${accepted.id} ended ${row?.status}, not READY`);
    const split = await splitFromHistory(options.temporal, accepted.workflowId, options.workerLog);
    samples.push({ ...split, acceptMs, endToEndMs });
    // Let the finished upload's notify step run before the next one, so each sample sees an idle system.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return samples;
}

export interface OverheadSummary {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  activitiesP50Ms: number;
  workflowP50Ms: number;
  acceptP50Ms: number;
  endToEndP50Ms: number;
  activitiesPerUpload: number;
  /** Of those, how many ran as local activities. */
  localActivitiesPerUpload: number;
  /** Of the overhead: waiting for workers to pick activity tasks up (the rest is workflow tasks and history writes). */
  dispatchP50Ms: number;
  /** Of the overhead: the worker's time inside workflow tasks, outside local activities. */
  inWorkflowTasksP50Ms: number;
  /** Median run time of each activity, ms. */
  activityP50Ms: Record<string, number>;
}

export function summariseOverhead(samples: readonly OverheadSample[]): OverheadSummary {
  const pick = (f: (s: OverheadSample) => number, p = 50) => round(percentile(samples.map(f), p), 1);
  return {
    samples: samples.length,
    p50Ms: pick((s) => s.overheadMs),
    p95Ms: pick((s) => s.overheadMs, 95),
    activitiesP50Ms: pick((s) => s.activitiesMs),
    workflowP50Ms: pick((s) => s.workflowMs),
    acceptP50Ms: pick((s) => s.acceptMs),
    endToEndP50Ms: pick((s) => s.endToEndMs),
    activitiesPerUpload: samples[0]?.activities ?? 0,
    localActivitiesPerUpload: samples[0]?.localActivities ?? 0,
    dispatchP50Ms: pick((s) => s.dispatchMs),
    inWorkflowTasksP50Ms: pick((s) => s.inWorkflowTasksMs),
    activityP50Ms: Object.fromEntries(
      Object.keys(samples[0]?.byActivity ?? {}).map((type) => [type, pick((s) => s.byActivity[type] ?? NaN)]),
    ),
  };
}
