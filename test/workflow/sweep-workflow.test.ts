import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepPageInput, SweepPageResult, SweeperActivities } from '../../activities/types';
import { createWorkers } from '../../workers/create-worker';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { sweepOrphansWorkflow } from '../../workflows/index';
import { eventually, fakeActivities, startDevServerEnv, testDataConverter } from './support/workflow-env';

/*
 * The sweep workflow's own logic with scripted activities: the order of the phases, paging by cursor,
 * one cutoff for the whole sweep, the totals, and continue-as-new on a big backlog.
 */

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

type Phase = keyof SweeperActivities;

/** Each phase answers its pages in turn (cursors "1", "2", … then null) and records every call. */
function scriptedSweeper(pages: Record<Phase, SweepPageResult['counts'][]>) {
  const calls: { phase: Phase; input: SweepPageInput }[] = [];
  const phase =
    (name: Phase) =>
    async (input: SweepPageInput): Promise<SweepPageResult> => {
      calls.push({ phase: name, input });
      const index = input.cursor === null ? 0 : Number(input.cursor);
      const counts = pages[name][index] ?? {};
      return { counts, nextCursor: index + 1 < pages[name].length ? String(index + 1) : null };
    };
  const activities: SweeperActivities = {
    deleteOrphanedIncomingObjects: phase('deleteOrphanedIncomingObjects'),
    recoverStalledUploads: phase('recoverStalledUploads'),
    abortStaleMultipartUploads: phase('abortStaleMultipartUploads'),
    expireAbandonedDirectUploads: phase('expireAbandonedDirectUploads'),
  };
  return { activities, calls };
}

async function withSweeper<T>(activities: SweeperActivities, body: () => Promise<T>): Promise<T> {
  const workers: Worker[] = await createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    dataConverter: testDataConverter,
    activities: fakeActivities().activities,
    sweeperActivities: activities,
    kind: 'general',
    shutdownGraceTime: '1 second',
  });
  const running = Promise.all(workers.map((w) => w.run()));
  try {
    return await body();
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
  }
}

const PAGES = {
  deleteOrphanedIncomingObjects: [{ orphanObjectsDeleted: 2 }, { orphanObjectsDeleted: 1 }],
  recoverStalledUploads: [{ uploadsRestarted: 1, uploadsFailed: 0 }, {}, { uploadsRestarted: 0, uploadsFailed: 3 }],
  abortStaleMultipartUploads: [{ multipartUploadsAborted: 4 }],
  expireAbandonedDirectUploads: [{ directUploadsExpired: 2 }],
};
const TOTALS = {
  orphanObjectsDeleted: 3,
  uploadsRestarted: 1,
  uploadsFailed: 3,
  multipartUploadsAborted: 4,
  directUploadsExpired: 2,
};

describe('sweepOrphansWorkflow', () => {
  it('sweeps orphans, then stalled uploads, then multipart uploads, then abandoned direct uploads, page by page, with one cutoff, and adds up what it did', async () => {
    const sweeper = scriptedSweeper(PAGES);
    const before = Date.now();
    const result = await withSweeper(sweeper.activities, () =>
      env.client.workflow.execute(sweepOrphansWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: `sweep-${Date.now()}`,
        args: [{ graceMs: 3_600_000, pageSize: 50 }],
      }),
    );

    expect(sweeper.calls.map((c) => [c.phase, c.input.cursor])).toEqual([
      ['deleteOrphanedIncomingObjects', null],
      ['deleteOrphanedIncomingObjects', '1'],
      ['recoverStalledUploads', null],
      ['recoverStalledUploads', '1'],
      ['recoverStalledUploads', '2'],
      ['abortStaleMultipartUploads', null],
      ['expireAbandonedDirectUploads', null],
    ]);
    const cutoffs = new Set(sweeper.calls.map((c) => c.input.olderThan));
    expect(cutoffs.size).toBe(1);
    const cutoff = Date.parse(result.olderThan);
    expect(cutoff).toBeGreaterThanOrEqual(before - 3_600_000 - 1_000);
    expect(cutoff).toBeLessThanOrEqual(Date.now() - 3_600_000);
    expect(sweeper.calls.every((c) => c.input.pageSize === 50 && c.input.olderThan === result.olderThan)).toBe(true);
    expect(result).toMatchObject(TOTALS);
  });

  it('defaults to a one-hour grace', async () => {
    const sweeper = scriptedSweeper({
      deleteOrphanedIncomingObjects: [{}],
      recoverStalledUploads: [{}],
      abortStaleMultipartUploads: [{}],
      expireAbandonedDirectUploads: [{}],
    });
    const started = Date.now();
    const result = await withSweeper(sweeper.activities, () =>
      env.client.workflow.execute(sweepOrphansWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: `sweep-default-${Date.now()}`,
        args: [{}],
      }),
    );
    expect(Math.abs(started - 3_600_000 - Date.parse(result.olderThan))).toBeLessThan(10_000);
    expect(sweeper.calls[0]!.input.pageSize).toBe(100);
  });

  it('continues as new on a big backlog, resuming where it stopped with the same cutoff and totals', async () => {
    const sweeper = scriptedSweeper(PAGES);
    const workflowId = `sweep-backlog-${Date.now()}`;
    const result = await withSweeper(sweeper.activities, async () => {
      const handle = await env.client.workflow.start(sweepOrphansWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId,
        args: [{ graceMs: 0, maxPagesPerRun: 2 }],
      });
      const out = await handle.result();
      // Seven pages at two per run: the chain has four runs (visibility may lag the result a moment).
      const runCount = async () => {
        let n = 0;
        for await (const _ of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
        return n;
      };
      const runs = await eventually(runCount, (n) => n >= 4, { timeoutMs: 10_000 });
      expect(runs).toBe(4);
      return out;
    });

    // No page is repeated or skipped across the runs.
    expect(sweeper.calls.map((c) => [c.phase, c.input.cursor])).toEqual([
      ['deleteOrphanedIncomingObjects', null],
      ['deleteOrphanedIncomingObjects', '1'],
      ['recoverStalledUploads', null],
      ['recoverStalledUploads', '1'],
      ['recoverStalledUploads', '2'],
      ['abortStaleMultipartUploads', null],
      ['expireAbandonedDirectUploads', null],
    ]);
    expect(new Set(sweeper.calls.map((c) => c.input.olderThan)).size).toBe(1);
    expect(result).toMatchObject(TOTALS);
  });

  it('refuses a negative grace period instead of sweeping uploads still in flight', async () => {
    const sweeper = scriptedSweeper({
      deleteOrphanedIncomingObjects: [{}],
      recoverStalledUploads: [{}],
      abortStaleMultipartUploads: [{}],
      expireAbandonedDirectUploads: [{}],
    });
    const run = withSweeper(sweeper.activities, () =>
      env.client.workflow.execute(sweepOrphansWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: `sweep-bad-${Date.now()}`,
        args: [{ graceMs: -1 }],
      }),
    );
    await expect(run).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(sweeper.calls).toEqual([]);
  });
});
