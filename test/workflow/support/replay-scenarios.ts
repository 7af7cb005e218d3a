import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { temporal } from '@temporalio/proto';
import { batchWorkflowIdFor, GENERAL_TASK_QUEUE } from '../../../common/task-queues';
import { batchWorkflow, uploadWorkflow } from '../../../workflows/index';
import { batchExpectedSignal, deleteSignal, retentionUpdate, statusQuery } from '../../../common/messages';
import { FailureTypes } from '../../../common/failures';
import {
  businessFailure,
  eventually,
  fakeActivities,
  PDF,
  startWorkers,
  untilCancelled,
  uploadInput,
  workflowId,
} from './workflow-env';

export interface CapturedHistory {
  name: string;
  workflowId: string;
  history: temporal.api.history.v1.IHistory;
}

/**
 * Workflows that between them exercise every command the upload workflow issues (each activity,
 * compensation, retries reported by signal, updates, timers, deletion), run to completion. Their
 * histories are what the replay test checks the current code against.
 */
export async function runReplayScenarios(env: TestWorkflowEnvironment): Promise<CapturedHistory[]> {
  const out: CapturedHistory[] = [];

  // An image: READY, retention extended and held, then deleted on request.
  {
    const fake = fakeActivities();
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput({ fileId: 'replay-image-ready' });
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      await eventually(
        () => handle.query(statusQuery),
        (s) => s.status === 'READY' && s.steps.notify.state === 'done',
      );
      await handle.executeUpdate(retentionUpdate, { args: [{ extendByMs: 86_400_000 }] });
      await handle.executeUpdate(retentionUpdate, { args: [{ hold: true }] });
      // Refused while held (the hold-refuses-delete patch), then accepted once the hold is released.
      await handle.signal(deleteSignal, { reason: 'requested' });
      await eventually(
        () => handle.query(statusQuery),
        (s) => s.refusedDeletes === 1,
      );
      await handle.executeUpdate(retentionUpdate, { args: [{ hold: false }] });
      await handle.signal(deleteSignal, { reason: 'requested' });
      await handle.result();
      out.push({ name: 'image-ready-deleted', workflowId: handle.workflowId, history: await handle.fetchHistory() });
    } finally {
      await workers.stop();
    }
  }

  // A PDF whose scan is flaky and whose store fails: FAILED, then expires after a short retention. Since
  // the pdf-thumbnail patch its thumb is made, then removed with the failure.
  {
    let scans = 0;
    const fake = fakeActivities(
      {
        async scanFile(input) {
          scans++;
          if (scans === 1) throw new Error('connect ECONNREFUSED 127.0.0.1:3310');
          return { sha256: `sha-${input.fileId}`, size: 2_048 };
        },
        async storeFile() {
          throw businessFailure('StorageUnavailable', 'the bucket is gone');
        },
      },
      PDF,
    );
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput({ fileId: 'replay-pdf-failed', retentionMs: 1_500, retentionMinMs: 1_000 });
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      await handle.result();
      out.push({ name: 'pdf-failed-expired', workflowId: handle.workflowId, history: await handle.fetchHistory() });
    } finally {
      await workers.stop();
    }
  }

  // A PDF whose first page cannot be drawn: READY without a thumb (pdf-thumbnail patch), then expires.
  {
    const fake = fakeActivities(
      {
        async makeRenditions() {
          throw businessFailure(
            FailureTypes.NoThumbnail,
            "No thumbnail: the PDF's first page cannot be drawn: bad XRef.",
          );
        },
      },
      PDF,
    );
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput({ fileId: 'replay-pdf-no-thumbnail', retentionMs: 1_500, retentionMinMs: 1_000 });
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      await handle.result();
      out.push({
        name: 'pdf-no-thumbnail-ready-expired',
        workflowId: handle.workflowId,
        history: await handle.fetchHistory(),
      });
    } finally {
      await workers.stop();
    }
  }

  // An upload deleted while its scan hangs: the delete cancels the scan (bounded-history patch).
  {
    const fake = fakeActivities({ scanFile: untilCancelled });
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput({ fileId: 'replay-deleted-while-scanning' });
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      await eventually(
        () => handle.query(statusQuery),
        (s) => s.steps.scan.state === 'running',
      );
      await handle.signal(deleteSignal, { reason: 'requested' });
      await handle.result();
      out.push({ name: 'deleted-while-scanning', workflowId: handle.workflowId, history: await handle.fetchHistory() });
    } finally {
      await workers.stop();
    }
  }

  // An infected upload with no webhook endpoint: quarantined for its own retention, announced to
  // nobody, expired. Its patch calls follow local activities' results (the early-patches patch).
  {
    const fake = fakeActivities({
      async scanFile(input) {
        throw ApplicationFailure.create({
          type: 'Infected',
          nonRetryable: true,
          message: 'malware found',
          details: [
            { signature: 'Eicar-Test-Signature', quarantineKey: `quarantine/${input.tenantId}/${input.fileId}` },
          ],
        });
      },
      async planNotifications() {
        return [];
      },
    });
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput({
        fileId: 'replay-infected-expired',
        callbackUrl: null,
        retentionMs: 86_400_000,
        quarantineRetentionMs: 1_500,
        retentionMinMs: 1_000,
      });
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      await handle.result();
      out.push({ name: 'infected-expired', workflowId: handle.workflowId, history: await handle.fetchHistory() });
    } finally {
      await workers.stop();
    }
  }

  // A batch of two: an image READY and a part refused on arrival, both expiring soon; the batch
  // completes once both told it (batch-member patch) and announces batch.completed.
  {
    const fake = fakeActivities();
    const workers = await startWorkers(env, fake.activities);
    try {
      const batchId = 'b_replay';
      const batch = await env.client.workflow.signalWithStart(batchWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: batchWorkflowIdFor(batchId),
        args: [{ batchId, tenantId: 'acme', callbackUrl: null, createdAt: new Date().toISOString() }],
        signal: batchExpectedSignal,
        signalArgs: [{ count: 2 }],
      });
      const member = { batchId, retentionMs: 1_500, retentionMinMs: 1_000 };
      const ready = uploadInput({ fileId: 'replay-batch-ready', ...member });
      const refused = uploadInput({
        fileId: 'replay-batch-refused',
        refusal: 'The uploaded file is empty (0 bytes)',
        ...member,
      });
      const files = await Promise.all(
        [ready, refused].map((input) =>
          env.client.workflow.start(uploadWorkflow, {
            taskQueue: GENERAL_TASK_QUEUE,
            workflowId: workflowId(input),
            args: [input],
          }),
        ),
      );
      await Promise.all([batch.result(), ...files.map((handle) => handle.result())]);
      out.push({ name: 'batch-completed', workflowId: batch.workflowId, history: await batch.fetchHistory() });
      out.push({
        name: 'batch-file-ready-expired',
        workflowId: files[0]!.workflowId,
        history: await files[0]!.fetchHistory(),
      });
      out.push({
        name: 'batch-file-refused-expired',
        workflowId: files[1]!.workflowId,
        history: await files[1]!.fetchHistory(),
      });
    } finally {
      await workers.stop();
    }
  }

  return out;
}
