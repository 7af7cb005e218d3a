import { heartbeat } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { deleteSignal, statusQuery } from '../../common/messages';
import { uploadWorkflow } from '../../workflows/index';
import {
  eventually,
  fakeActivities,
  startDevServerEnv,
  startWorkers,
  untilCancelled,
  uploadInput,
  workflowId,
} from './support/workflow-env';

/*
 * A delete that arrives while the file is still processing stops the running step at once, removes
 * what was written and ends DELETED, instead of waiting for processing to finish (up to a day while
 * clamd is down). On the real dev server binary, with fakes that block until they are cancelled.
 */

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

/** Starts an upload workflow on the workers the test runs. */
async function startUpload() {
  const input = uploadInput();
  const handle = await env.client.workflow.start(uploadWorkflow, {
    taskQueue: GENERAL_TASK_QUEUE,
    workflowId: workflowId(input),
    args: [input],
  });
  return { input, handle };
}

/** Waits for the workflow's result, failing with a clear message instead of the test's own timeout. */
function resultWithin<T>(result: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    result,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms)),
  ]);
}

describe('delete while processing', () => {
  it('a delete during a scan that never answers cancels it and ends DELETED with nothing announced but the deletion', async () => {
    let scansStarted = 0;
    const fake = fakeActivities({
      async scanFile() {
        scansStarted++;
        return untilCancelled();
      },
    });
    const workers = await startWorkers(env, fake.activities);
    try {
      const { input, handle } = await startUpload();
      await eventually(
        () => handle.query(statusQuery),
        (s) => s.steps.scan.state === 'running' && scansStarted > 0,
      );

      await handle.signal(deleteSignal, { reason: 'requested' });
      const final = await resultWithin(handle.result(), 30_000, 'the deleted upload');

      expect(final.status).toBe('DELETED');
      expect(final.deletionReason).toBe('requested');
      expect(final.steps.scan.state).toBe('failed');
      expect(final.steps.scan.error).toBe('cancelled');
      for (const step of ['validate', 'resize', 'store', 'index'] as const)
        expect(final.steps[step].state).toBe('skipped');
      expect(final.steps.notify.state).toBe('skipped');
      expect(fake.calls.storeFile).toHaveLength(0);
      expect(fake.calls.deleteArtifacts).toEqual([
        { fileId: input.fileId, tenantId: input.tenantId, reason: 'requested' },
      ]);
      expect(fake.calls.recordFile.at(-1)?.status).toBe('DELETED');
      expect(new Set(fake.calls.deliverWebhook.map((d) => d.event))).toEqual(new Set(['file.deleted']));
    } finally {
      await workers.stop();
    }
  });

  it('a delete during a resize on the media queue cancels it through its heartbeat and removes the renditions', async () => {
    const fake = fakeActivities({
      async makeRenditions() {
        const beat = setInterval(() => heartbeat(), 200);
        try {
          return await untilCancelled();
        } finally {
          clearInterval(beat);
        }
      },
    });
    const workers = await startWorkers(env, fake.activities);
    try {
      const { handle } = await startUpload();
      await eventually(
        () => handle.query(statusQuery),
        (s) => s.steps.resize.state === 'running',
      );

      await handle.signal(deleteSignal, { reason: 'requested' });
      const final = await resultWithin(handle.result(), 60_000, 'the deleted upload');

      expect(final.status).toBe('DELETED');
      expect(final.steps.resize.error).toBe('cancelled');
      expect(final.steps.store.state).toBe('skipped');
      expect(fake.calls.storeFile).toHaveLength(0);
      expect(fake.calls.deleteArtifacts).toHaveLength(1);
      expect(fake.calls.deliverWebhook.some((d) => d.event === 'file.ready')).toBe(false);
    } finally {
      await workers.stop();
    }
  });
});
