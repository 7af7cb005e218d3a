import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import type { FileState, UploadInput } from '../../common/domain';
import { uploadWorkflow } from '../../workflows/index';
import { deleteSignal, retentionUpdate, statusQuery } from '../../common/messages';
import {
  eventually,
  fakeActivities,
  startWorkers,
  uploadInput,
  workflowId,
  startTimeSkippingEnv,
} from './support/workflow-env';
import type { FakeActivities, RunningWorkers } from './support/workflow-env';

/*
 * The retention promise, on Temporal's Java time-skipping test server: days pass in milliseconds, so
 * the real 7-day default is what is tested, not a shortened stand-in.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
});

afterAll(async () => {
  await env?.teardown();
});

interface Upload {
  handle: WorkflowHandle<typeof uploadWorkflow>;
  fake: FakeActivities;
  ready: FileState;
  workers: RunningWorkers;
}

/**
 * Starts an upload on `fake` activities and returns once it reached `outcome` and announced it, i.e.
 * waits on its retention timer.
 */
async function settledUpload(
  overrides: Partial<UploadInput> = {},
  fake: FakeActivities = fakeActivities(),
  outcome: FileState['status'] = 'READY',
): Promise<Upload> {
  const workers = await startWorkers(env, fake.activities);
  const input = uploadInput(overrides);
  const handle = await env.client.workflow.start(uploadWorkflow, {
    taskQueue: GENERAL_TASK_QUEUE,
    workflowId: workflowId(input),
    args: [input],
  });
  const ready = await eventually(
    () => handle.query(statusQuery),
    (s) => s.status === outcome && s.steps.notify.state === 'done',
  );
  return { handle, fake, ready, workers };
}

const readyUpload = (overrides: Partial<UploadInput> = {}) => settledUpload(overrides);

const statusOf = (upload: Upload) => upload.handle.query(statusQuery);
/**
 * Waits for DELETED, then for the workflow to end (it delivers file.deleted first): deliveries left
 * running when the test stops its workers would be abandoned mid-attempt, and the time-skipping server
 * holds its clock until such an attempt times out, which stalled the next test's `env.sleep`.
 */
async function deletedOf(upload: Upload): Promise<FileState> {
  const deleted = await eventually(
    () => statusOf(upload),
    (s) => s.status === 'DELETED',
  );
  await upload.handle.result();
  return deleted;
}

describe('retention', () => {
  it('the 7-day default deletes the file after 7 days and not a minute before', async () => {
    const upload = await readyUpload();
    try {
      expect(Date.parse(upload.ready.expiresAt ?? '') - Date.parse(upload.ready.completedAt ?? '')).toBe(7 * DAY);

      await env.sleep(7 * DAY - MINUTE);
      expect((await statusOf(upload)).status).toBe('READY');
      expect(upload.fake.calls.deleteArtifacts).toHaveLength(0);

      await env.sleep(2 * MINUTE);
      const deleted = await deletedOf(upload);
      expect(deleted.deletionReason).toBe('expired');
      expect(upload.fake.calls.deleteArtifacts).toEqual([
        { fileId: upload.ready.fileId, tenantId: upload.ready.tenantId, reason: 'expired' },
      ]);
      expect(upload.fake.calls.deliverWebhook.filter((d) => d.event === 'file.deleted')).toHaveLength(2);
      expect((await upload.handle.result()).status).toBe('DELETED');
    } finally {
      await upload.workers.stop();
    }
  });

  it('extending the expiry by a day moves the deletion a day later', async () => {
    const upload = await readyUpload();
    try {
      const extended = await upload.handle.executeUpdate(retentionUpdate, { args: [{ extendByMs: DAY }] });
      expect(Date.parse(extended.expiresAt ?? '')).toBe(Date.parse(upload.ready.expiresAt ?? '') + DAY);

      await env.sleep(8 * DAY - HOUR);
      expect((await statusOf(upload)).status).toBe('READY');
      expect(upload.fake.calls.deleteArtifacts).toHaveLength(0);

      await env.sleep(2 * HOUR);
      expect((await deletedOf(upload)).deletionReason).toBe('expired');
    } finally {
      await upload.workers.stop();
    }
  });

  it('shortening the expiry deletes the file at the new time', async () => {
    const upload = await readyUpload();
    try {
      const now = await env.currentTimeMs();
      await upload.handle.executeUpdate(retentionUpdate, {
        args: [{ expiresAt: new Date(now + DAY).toISOString() }],
      });
      await env.sleep(DAY - HOUR);
      expect((await statusOf(upload)).status).toBe('READY');
      await env.sleep(2 * HOUR);
      expect((await deletedOf(upload)).deletionReason).toBe('expired');
    } finally {
      await upload.workers.stop();
    }
  });

  it('a legal hold keeps the file past its expiry until it is released', async () => {
    const upload = await readyUpload();
    try {
      await upload.handle.executeUpdate(retentionUpdate, { args: [{ hold: true }] });
      await env.sleep(30 * DAY);
      const held = await statusOf(upload);
      expect(held).toMatchObject({ status: 'READY', hold: true });
      expect(upload.fake.calls.deleteArtifacts).toHaveLength(0);

      // The expiry passed during the hold, so releasing it deletes the file straight away.
      await upload.handle.executeUpdate(retentionUpdate, { args: [{ hold: false }] });
      expect((await deletedOf(upload)).deletionReason).toBe('expired');
    } finally {
      await upload.workers.stop();
    }
  });

  it('a delete signal sent around the API (Temporal UI or CLI) cannot remove a held file', async () => {
    const upload = await readyUpload();
    try {
      await upload.handle.executeUpdate(retentionUpdate, { args: [{ hold: true }] });
      await upload.handle.signal(deleteSignal, { reason: 'requested' });
      await upload.handle.signal(deleteSignal, { reason: 'requested' });
      const held = await eventually(
        () => upload.handle.query(statusQuery),
        (state) => state.refusedDeletes === 2,
      );
      expect(held).toMatchObject({ status: 'READY', hold: true, deletedAt: null });
      await env.sleep(30 * DAY);
      expect((await statusOf(upload)).status).toBe('READY');
      expect(upload.fake.calls.deleteArtifacts).toHaveLength(0);

      // Released, the file follows its retention again: the expiry has passed, so it goes now.
      await upload.handle.executeUpdate(retentionUpdate, { args: [{ hold: false }] });
      expect((await deletedOf(upload)).deletionReason).toBe('expired');
    } finally {
      await upload.workers.stop();
    }
  });

  it("an infected file's quarantined copy is kept for the quarantine retention, not the upload's own", async () => {
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
    });
    const upload = await settledUpload({ retentionMs: 7 * DAY, quarantineRetentionMs: 30 * DAY }, fake, 'INFECTED');
    try {
      const infected = upload.ready;
      expect(Date.parse(infected.expiresAt ?? '') - Date.parse(infected.completedAt ?? '')).toBe(30 * DAY);
      await env.sleep(8 * DAY);
      expect((await statusOf(upload)).status).toBe('INFECTED');
      expect(fake.calls.deleteArtifacts).toHaveLength(0);
      await env.sleep(23 * DAY);
      expect((await deletedOf(upload)).deletionReason).toBe('expired');
    } finally {
      await upload.workers.stop();
    }
  });

  it('a deletion that keeps failing is retried until it succeeds, never leaving the file to nobody', async () => {
    let failures = 2;
    const fake = fakeActivities({
      async deleteArtifacts() {
        if (failures > 0) {
          failures--;
          // Non-retryable: the activity's own retries end here, the workflow's do not.
          throw ApplicationFailure.create({ type: 'DatabaseError', nonRetryable: true, message: 'permission denied' });
        }
      },
    });
    const upload = await settledUpload({ retentionMs: DAY }, fake);
    try {
      await env.sleep(DAY + MINUTE);
      const troubled = await eventually(
        () => statusOf(upload),
        (s) => typeof s.attention === 'string',
      );
      expect(troubled.attention).toMatch(/deleting the artifacts is failing \(permission denied\)/);
      expect(troubled.status).toBe('READY');

      await env.sleep(3 * MINUTE);
      const deleted = await deletedOf(upload);
      expect(deleted.attention).toBeNull();
      expect(fake.calls.deleteArtifacts).toHaveLength(1);
      expect((await upload.handle.result()).status).toBe('DELETED');
    } finally {
      await upload.workers.stop();
    }
  });

  it('a delete request removes the file at once, long before its expiry', async () => {
    const upload = await readyUpload();
    try {
      await env.sleep(DAY);
      await upload.handle.signal(deleteSignal, { reason: 'requested' });
      const deleted = await deletedOf(upload);
      expect(deleted.deletionReason).toBe('requested');
      expect(Date.parse(deleted.deletedAt ?? '')).toBeLessThan(Date.parse(upload.ready.expiresAt ?? ''));
      expect(upload.fake.calls.deleteArtifacts).toHaveLength(1);
    } finally {
      await upload.workers.stop();
    }
  });
});
