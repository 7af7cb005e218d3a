import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { IntakeClient } from '../lib/api-client';
import { waitForOutcomes } from './measure-pipeline';
import { percentile, round } from './stats';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface OverheadSample {
  /** Workflow start → READY recorded, minus the activities' own run time (what Temporal adds). */
  overheadMs: number;
  /** Workflow start → READY recorded. */
  workflowMs: number;
  /** Sum of ActivityTaskStarted → ActivityTaskCompleted of scan … record. */
  activitiesMs: number;
  activities: number;
  /** Sum of ActivityTaskScheduled → ActivityTaskStarted: waiting for a worker to pick the task up. */
  dispatchMs: number;
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
const idOf = (value: unknown): string => String(value);

/**
 * READY is the moment the outcome's recordFile completes (it writes status READY to Postgres, where the
 * API reads it). Everything between the workflow's start and that moment that is not an activity
 * running — task dispatch, workflow tasks, history writes — is orchestration overhead.
 */
export function overheadFromHistory(history: History): Omit<OverheadSample, 'acceptMs' | 'endToEndMs'> {
  const events = history.events ?? [];
  const first = events[0];
  if (!first?.workflowExecutionStartedEventAttributes)
    throw new Error('history does not start with the workflow start');
  const workflowStart = toMs(first.eventTime);
  const typeOf = new Map<string, string>();
  const startedAt = new Map<string, number>();
  const scheduledAt = new Map<string, number>();
  const ran: { type: string; scheduled: number; start: number; end: number }[] = [];
  for (const event of events) {
    if (event.activityTaskScheduledEventAttributes) {
      typeOf.set(idOf(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
      scheduledAt.set(idOf(event.eventId), toMs(event.eventTime));
    } else if (event.activityTaskStartedEventAttributes) {
      startedAt.set(idOf(event.activityTaskStartedEventAttributes.scheduledEventId), toMs(event.eventTime));
    } else if (event.activityTaskCompletedEventAttributes) {
      const scheduled = idOf(event.activityTaskCompletedEventAttributes.scheduledEventId);
      ran.push({
        type: typeOf.get(scheduled) ?? '?',
        scheduled: scheduledAt.get(scheduled) ?? NaN,
        start: startedAt.get(scheduled) ?? NaN,
        end: toMs(event.eventTime),
      });
    }
  }
  const recordIndex = ran.findIndex((a) => a.type === 'recordFile');
  if (recordIndex < 0) throw new Error('the workflow has not recorded its outcome');
  const upToReady = ran.slice(0, recordIndex + 1);
  const readyAt = upToReady[recordIndex]!.end;
  const activitiesMs = upToReady.reduce((sum, a) => sum + (a.end - a.start), 0);
  const workflowMs = readyAt - workflowStart;
  return {
    overheadMs: workflowMs - activitiesMs,
    workflowMs,
    activitiesMs,
    activities: upToReady.length,
    dispatchMs: upToReady.reduce((sum, a) => sum + (a.start - a.scheduled), 0),
    byActivity: Object.fromEntries(upToReady.map((a) => [a.type, a.end - a.start])),
  };
}

/**
 * The worker reports recordFile's completion only after its Postgres write has committed, so the READY
 * row can be seen a moment before the history holds the completion: ask again until it does.
 */
async function splitFromHistory(temporal: Client, workflowId: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
    try {
      return overheadFromHistory(history);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** One upload at a time through the API, each followed to READY; the workflow history gives the split. */
export async function measureOverhead(options: {
  client: IntakeClient;
  temporal: Client;
  pool: pg.Pool;
  images: readonly Buffer[];
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
    samples.push({ ...(await splitFromHistory(options.temporal, accepted.workflowId)), acceptMs, endToEndMs });
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
  /** Of the overhead: waiting for workers to pick activity tasks up (the rest is workflow tasks and history writes). */
  dispatchP50Ms: number;
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
    dispatchP50Ms: pick((s) => s.dispatchMs),
    activityP50Ms: Object.fromEntries(
      Object.keys(samples[0]?.byActivity ?? {}).map((type) => [type, pick((s) => s.byActivity[type] ?? NaN)]),
    ),
  };
}
