import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchInput, UploadInput } from '../../common/domain';
import {
  batchExpectedSignal,
  batchMemberAddedSignal,
  batchMemberDoneSignal,
  batchStatusQuery,
  deleteSignal,
  statusQuery,
} from '../../common/messages';
import { batchWorkflowIdFor, GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { batchWorkflow, uploadWorkflow } from '../../workflows/index';
import {
  eventually,
  fakeActivities,
  startDevServerEnv,
  startWorkers,
  TENANT_ENDPOINT,
  untilCancelled,
  uploadInput,
  workflowId,
  type FakeActivities,
} from './support/workflow-env';

/*
 * The batch workflow on the real Temporal dev server binary, with fake activities: it completes once,
 * whatever order its signals come in and however often they repeat, and the upload workflows of its
 * files tell it their terminal status (batch-member patch).
 */

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

let batches = 0;
function batchInput(): BatchInput {
  batches += 1;
  return {
    batchId: `b_test${Date.now().toString(36)}${batches}`,
    tenantId: 'acme',
    callbackUrl: 'https://callback.example/hooks/batch',
    createdAt: new Date().toISOString(),
  };
}

async function withWorkers(fake: FakeActivities, body: () => Promise<void>) {
  const workers = await startWorkers(env, fake.activities);
  try {
    await body();
  } finally {
    await workers.stop();
  }
}

const startBatch = (input: BatchInput, first: { expected?: number; added?: string }) =>
  first.expected !== undefined
    ? env.client.workflow.signalWithStart(batchWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: batchWorkflowIdFor(input.batchId),
        args: [input],
        signal: batchExpectedSignal,
        signalArgs: [{ count: first.expected }],
      })
    : env.client.workflow.signalWithStart(batchWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: batchWorkflowIdFor(input.batchId),
        args: [input],
        signal: batchMemberAddedSignal,
        signalArgs: [{ fileId: first.added ?? 'f_1' }],
      });

const completedDeliveries = (fake: FakeActivities, batchId: string) =>
  fake.calls.deliverWebhook.filter((d) => d.event === 'batch.completed' && d.fileId === batchId);

describe('batch workflow', () => {
  it('members may finish before the count is known (a Kafka batch): DONE once, with the counts, announced once', async () => {
    const fake = fakeActivities();
    await withWorkers(fake, async () => {
      const input = batchInput();
      const handle = await startBatch(input, { added: 'f_1' });
      await handle.signal(batchMemberAddedSignal, { fileId: 'f_2' });
      await handle.signal(batchMemberDoneSignal, { fileId: 'f_1', status: 'READY' });
      await handle.signal(batchMemberDoneSignal, { fileId: 'f_2', status: 'REJECTED' });
      // A repeated member (a retried signal, a duplicate message) counts once.
      await handle.signal(batchMemberDoneSignal, { fileId: 'f_2', status: 'REJECTED' });
      await handle.signal(batchMemberAddedSignal, { fileId: 'f_3' });
      expect((await handle.query(batchStatusQuery)).status).toBe('PROCESSING');
      await handle.signal(batchMemberDoneSignal, { fileId: 'f_3', status: 'INFECTED' });
      // The end marker comes last; a second, different count is ignored.
      await handle.signal(batchExpectedSignal, { count: 3 });
      await handle.signal(batchExpectedSignal, { count: 5 }).catch(() => undefined);

      const state = await handle.result();
      expect(state.status).toBe('DONE');
      expect(state.counts).toMatchObject({ READY: 1, REJECTED: 1, INFECTED: 1, FAILED: 0, PROCESSING: 0 });
      expect(fake.calls.recordBatchDone).toHaveLength(1);
      expect(fake.calls.recordBatchDone[0]?.completion).toMatchObject({ batchId: input.batchId, fileCount: 3 });
      const deliveries = completedDeliveries(fake, input.batchId);
      expect(deliveries.map((d) => d.target.url).sort()).toEqual([input.callbackUrl, TENANT_ENDPOINT].sort());
      expect(new Set(deliveries.map((d) => d.messageId))).toEqual(new Set([`msg_${input.batchId}_batch.completed`]));
      // And once on the events topic, with the same id, keyed by the batch.
      const published = fake.calls.publishEvent.filter(({ event }) => event.event === 'batch.completed');
      expect(published.map(({ event }) => [event.messageId, event.fileId])).toEqual([
        [`msg_${input.batchId}_batch.completed`, input.batchId],
      ]);
    });
  });

  it('a batch whose count comes first (an HTTP batch) waits for that many distinct files', async () => {
    const fake = fakeActivities();
    await withWorkers(fake, async () => {
      const input = batchInput();
      const handle = await startBatch(input, { expected: 2 });
      await handle.signal(batchMemberDoneSignal, { fileId: 'f_a', status: 'READY' });
      await handle.signal(batchMemberDoneSignal, { fileId: 'f_a', status: 'READY' });
      await eventually(
        () => handle.query(batchStatusQuery),
        (s) => s.counts.READY === 1,
      );
      expect((await handle.query(batchStatusQuery)).status).toBe('PROCESSING');
      await handle.signal(batchMemberDoneSignal, { fileId: 'f_b', status: 'FAILED' });
      const state = await handle.result();
      expect(state.counts).toMatchObject({ READY: 1, FAILED: 1 });
      expect(completedDeliveries(fake, input.batchId)).toHaveLength(2);
    });
  });

  it("the batch's files tell it their outcome: a refused part ends REJECTED without a step, a file deleted while processing counts DELETED", async () => {
    let scans = 0;
    const fake = fakeActivities({
      async scanFile(scan) {
        scans++;
        if (scan.fileId.endsWith('hang')) return untilCancelled();
        return { sha256: `sha-${scan.fileId}`, size: 123_456 };
      },
    });
    await withWorkers(fake, async () => {
      const input = batchInput();
      const batch = await startBatch(input, { expected: 3 });
      const member = (overrides: Partial<UploadInput>) =>
        uploadInput({ batchId: input.batchId, retentionMs: 1_500, retentionMinMs: 1_000, ...overrides });
      const ready = member({});
      const refused = member({ refusal: 'The uploaded file is empty (0 bytes)', size: 0 });
      const deleted = member({ fileId: `f${Date.now().toString(36)}hang` });
      const start = (upload: UploadInput) =>
        env.client.workflow.start(uploadWorkflow, {
          taskQueue: GENERAL_TASK_QUEUE,
          workflowId: workflowId(upload),
          args: [upload],
        });
      const handles = await Promise.all([ready, refused, deleted].map(start));
      await eventually(
        () => handles[2]!.query(statusQuery),
        (s) => s.steps.scan.state === 'running',
      );
      await handles[2]!.signal(deleteSignal, { reason: 'requested' });

      const state = await batch.result();
      expect(state.outcomes).toEqual({
        [ready.fileId]: 'READY',
        [refused.fileId]: 'REJECTED',
        [deleted.fileId]: 'DELETED',
      });
      expect(state.counts).toMatchObject({ READY: 1, REJECTED: 1, DELETED: 1 });

      // Recorded REJECTED (it may have expired since: its retention is short).
      const refusedState = fake.calls.recordFile.find((r) => r.fileId === refused.fileId && r.status === 'REJECTED');
      expect(refusedState).toMatchObject({ reason: 'The uploaded file is empty (0 bytes)' });
      if (!refusedState) return;
      expect(refusedState.steps.validate).toMatchObject({
        state: 'failed',
        error: 'The uploaded file is empty (0 bytes)',
      });
      expect(refusedState.steps.scan.state).toBe('skipped');
      // Only the two real files were scanned.
      expect(scans).toBe(2);
      expect(
        fake.calls.deliverWebhook.filter((d) => d.event === 'file.rejected' && d.fileId === refused.fileId),
      ).toHaveLength(2);
      await Promise.all(handles.map((handle) => handle.result()));
    });
  });
});
