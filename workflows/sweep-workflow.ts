import { ApplicationFailure, continueAsNew, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SweepCounts, SweepPageInput, SweepPageResult, SweeperActivities } from '../activities/types';

/*
 * The orphan sweeper, started every 15 minutes by the `intake-sweeper` Schedule. It cleans up what
 * lives outside any upload workflow: incoming objects whose upload was never accepted, accepted
 * uploads whose workflow never started, and abandoned multipart uploads. Each page is one activity;
 * a failed page is retried a few times and otherwise left to the next scheduled run.
 */
const {
  deleteOrphanedIncomingObjects,
  recoverStalledUploads,
  abortStaleMultipartUploads,
  expireAbandonedDirectUploads,
} = proxyActivities<SweeperActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Only things older than this are touched, so an upload still in flight is never mistaken for debris. */
export const DEFAULT_SWEEP_GRACE_MS = 60 * 60_000;
export const DEFAULT_SWEEP_PAGE_SIZE = 100;
/** Each page adds about six history events; past this many pages the sweep continues as new. */
export const DEFAULT_MAX_PAGES_PER_RUN = 200;

/**
 * In this order: orphans first, so a recovered upload is never swept as an orphan in the same run.
 * Abandoned direct uploads come last, behind the `sweep-direct-uploads` patch: runs from before it replay
 * without that phase.
 */
export const SWEEP_PHASES = ['incomingObjects', 'stalledUploads', 'multipartUploads', 'directUploads'] as const;
export type SweepPhase = (typeof SWEEP_PHASES)[number];

const PAGE_OF: Record<SweepPhase, (input: SweepPageInput) => Promise<SweepPageResult>> = {
  incomingObjects: deleteOrphanedIncomingObjects,
  stalledUploads: recoverStalledUploads,
  multipartUploads: abortStaleMultipartUploads,
  directUploads: expireAbandonedDirectUploads,
};

export interface SweepInput {
  /** How old debris must be before it is swept. Default 1 hour. */
  graceMs?: number;
  pageSize?: number;
  maxPagesPerRun?: number;
  /** Where a run that continued as new left off. Not for callers. */
  progress?: SweepProgress;
}

export interface SweepProgress {
  /** Fixed when the sweep starts, so every page and every continued run judge by the same cutoff. */
  olderThan: string;
  phase: SweepPhase;
  cursor: string | null;
  totals: SweepCounts;
}

export interface SweepResult extends SweepCounts {
  olderThan: string;
}

const noCounts = (): SweepCounts => ({
  orphanObjectsDeleted: 0,
  uploadsRestarted: 0,
  uploadsFailed: 0,
  multipartUploadsAborted: 0,
  directUploadsExpired: 0,
});

export async function sweepOrphansWorkflow(input: SweepInput = {}): Promise<SweepResult> {
  const graceMs = input.graceMs ?? DEFAULT_SWEEP_GRACE_MS;
  const pageSize = input.pageSize ?? DEFAULT_SWEEP_PAGE_SIZE;
  const maxPages = input.maxPagesPerRun ?? DEFAULT_MAX_PAGES_PER_RUN;
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw ApplicationFailure.create({ nonRetryable: true, message: `graceMs must be ≥ 0, got ${graceMs}` });
  }
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw ApplicationFailure.create({ nonRetryable: true, message: `pageSize must be 1..1000, got ${pageSize}` });
  }
  if (!Number.isInteger(maxPages) || maxPages < 1) {
    throw ApplicationFailure.create({ nonRetryable: true, message: `maxPagesPerRun must be ≥ 1, got ${maxPages}` });
  }

  // Date.now() is the workflow task's time: deterministic on replay.
  const progress: SweepProgress = input.progress ?? {
    olderThan: new Date(Date.now() - graceMs).toISOString(),
    phase: SWEEP_PHASES[0],
    cursor: null,
    totals: noCounts(),
  };

  const sweepsDirectUploads = patched('sweep-direct-uploads');
  let pages = 0;
  for (let i = SWEEP_PHASES.indexOf(progress.phase); i < SWEEP_PHASES.length; i++) {
    const phase = SWEEP_PHASES[i]!;
    if (phase === 'directUploads' && !sweepsDirectUploads) break;
    if (phase !== progress.phase) {
      progress.phase = phase;
      progress.cursor = null;
    }
    do {
      if (pages >= maxPages || workflowInfo().continueAsNewSuggested) {
        // Keeps the history bounded however much there is to sweep; the cutoff and totals carry over.
        return await continueAsNew<typeof sweepOrphansWorkflow>({
          graceMs,
          pageSize,
          maxPagesPerRun: maxPages,
          progress,
        });
      }
      const page = await PAGE_OF[phase]({ olderThan: progress.olderThan, pageSize, cursor: progress.cursor });
      pages++;
      for (const key of Object.keys(page.counts) as (keyof SweepCounts)[]) {
        progress.totals[key] = (progress.totals[key] ?? 0) + (page.counts[key] ?? 0);
      }
      progress.cursor = page.nextCursor;
    } while (progress.cursor !== null);
  }

  log.info('sweep finished', { olderThan: progress.olderThan, ...progress.totals });
  return { olderThan: progress.olderThan, ...progress.totals };
}
