import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import type { FileState, RetentionChange, UploadInput } from '../../common/domain';
import { uploadWorkflow } from '../../workflows/index';
import { RETENTION_CHANGES_PER_MINUTE } from '../../workflows/upload-workflow';
import { FailureTypes } from '../../common/failures';
import { deleteSignal, retentionUpdate, statusQuery } from '../../common/messages';
import { IntakeExpiresAt, IntakeHold, IntakeStatus } from '../../common/search-attributes';
import {
  PDF,
  TENANT_ENDPOINT,
  businessFailure,
  eventually,
  fakeActivities,
  startDevServerEnv,
  startWorkers,
  uploadInput,
  workflowId,
} from './support/workflow-env';
import type { FakeActivities } from './support/workflow-env';

/*
 * The upload workflow on the real Temporal dev server binary, with fake activities: every branch of
 * processing, notification, retention changes and deletion.
 */

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

/** Runs one upload with the given fakes; the worker is stopped when `body` is done. */
async function withUpload(
  fake: FakeActivities,
  input: UploadInput,
  body: (handle: WorkflowHandle<typeof uploadWorkflow>) => Promise<void>,
): Promise<void> {
  const workers = await startWorkers(env, fake.activities);
  try {
    const handle = await env.client.workflow.start(uploadWorkflow, {
      taskQueue: GENERAL_TASK_QUEUE,
      workflowId: workflowId(input),
      args: [input],
    });
    await body(handle);
  } finally {
    await workers.stop();
  }
}

const status = (handle: WorkflowHandle<typeof uploadWorkflow>) => handle.query(statusQuery);
const settled = (state: FileState) => state.status !== 'PROCESSING' && state.steps.notify.state !== 'running';
const lastRecord = (fake: FakeActivities) => fake.calls.recordFile.at(-1);

async function deleteNow(handle: WorkflowHandle<typeof uploadWorkflow>): Promise<FileState> {
  await handle.signal(deleteSignal, { reason: 'requested' });
  return handle.result();
}

describe('upload workflow', () => {
  it('a worker that caches two workflows still queries, deletes, updates and expires the uploads it evicted', async () => {
    // INTAKE_MAX_CACHED_WORKFLOWS bounds a worker's memory: uploads waiting on retention leave its cache,
    // and each is replayed from its history on its next task (a query, a signal, an update, its timer).
    const fake = fakeActivities();
    const workers = await startWorkers(env, fake.activities, { maxCachedWorkflows: 2 });
    try {
      const handles: WorkflowHandle<typeof uploadWorkflow>[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const input = uploadInput({ retentionMinMs: 1_000 });
        const handle = await env.client.workflow.start(uploadWorkflow, {
          taskQueue: GENERAL_TASK_QUEUE,
          workflowId: workflowId(input),
          args: [input],
        });
        await eventually(() => status(handle), settled);
        handles.push(handle);
        ids.push(input.fileId);
      }
      const [first, second, ...rest] = handles as [(typeof handles)[0], (typeof handles)[0], ...typeof handles];
      // Three uploads went through the two-workflow cache after the first two settled.
      expect((await status(first)).status).toBe('READY');
      expect(await deleteNow(first)).toMatchObject({ status: 'DELETED', deletionReason: 'requested' });
      // 3 s after its completion, so the timer of an evicted workflow fires within the test.
      const expiresAt = new Date(Date.parse((await status(second)).completedAt!) + 3_000).toISOString();
      expect(await second.executeUpdate(retentionUpdate, { args: [{ expiresAt }] })).toMatchObject({ expiresAt });
      expect(await second.result()).toMatchObject({ status: 'DELETED', deletionReason: 'expired' });
      for (const handle of rest) expect((await status(handle)).status).toBe('READY');
      const deletions = (id: string) => fake.calls.deleteArtifacts.filter((c) => c.fileId === id).map((c) => c.reason);
      expect(ids.map(deletions)).toEqual([['requested'], ['expired'], [], [], []]);
      for (const handle of rest) await handle.terminate('test over');
    } finally {
      await workers.stop();
    }
  });

  it('a clean image ends READY with renditions, is announced to every target once, and is deleted on request', async () => {
    const fake = fakeActivities();
    const input = uploadInput();
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state.status).toBe('READY');
      expect(state.reason).toBeNull();
      expect(state.contentType).toBe('image/jpeg');
      expect(state.renditions.map((r) => r.name)).toEqual(['thumb', 'medium', 'large', 'medium-avif', 'large-avif']);
      for (const step of ['scan', 'validate', 'resize', 'store', 'index', 'notify'] as const) {
        expect(state.steps[step]).toMatchObject({ state: 'done', attempts: 1, error: null });
        expect(Date.parse(state.steps[step].finishedAt ?? '')).toBeGreaterThanOrEqual(
          Date.parse(state.steps[step].startedAt ?? ''),
        );
      }
      expect(fake.calls.makeRenditions).toBe(1);
      expect(fake.calls.storeFile[0]?.renditions).toHaveLength(5);
      expect(lastRecord(fake)).toMatchObject({ status: 'READY', sha256: `sha-${input.fileId}` });

      // Expiry is counted from completion, with the upload's retention period.
      expect(Date.parse(state.expiresAt ?? '') - Date.parse(state.completedAt ?? '')).toBe(input.retentionMs);

      // One delivery per target, both with the same event-derived message id.
      const ready = fake.calls.deliverWebhook.flatMap((d) => (d.event === 'file.ready' ? [d] : []));
      expect(ready.map((d) => d.target.url).sort()).toEqual([input.callbackUrl, TENANT_ENDPOINT].sort());
      expect(new Set(ready.map((d) => d.messageId))).toEqual(new Set([`msg_${input.fileId}_file.ready`]));
      expect(ready[0]?.file.status).toBe('READY');

      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(IntakeStatus)).toBe('READY');
      expect(described.typedSearchAttributes.get(IntakeExpiresAt)?.toISOString()).toBe(state.expiresAt);

      // Readers of a finished file see its row, so the announcement's outcome is recorded there too.
      const recorded = await eventually(
        () => Promise.resolve(lastRecord(fake)),
        (r) => r?.steps.notify.state === 'done',
      );
      expect(recorded?.status).toBe('READY');

      const final = await deleteNow(handle);
      expect(final).toMatchObject({ status: 'DELETED', deletionReason: 'requested', renditions: [] });
      expect(final.deletedAt).not.toBeNull();
      expect(fake.calls.deleteArtifacts).toEqual([
        { fileId: input.fileId, tenantId: input.tenantId, reason: 'requested' },
      ]);
      expect(lastRecord(fake)?.status).toBe('DELETED');
      const deleted = fake.calls.deliverWebhook.filter((d) => d.event === 'file.deleted');
      expect(deleted).toHaveLength(2);
      expect(deleted.every((d) => d.messageId === `msg_${input.fileId}_file.deleted`)).toBe(true);
      expect((await handle.describe()).typedSearchAttributes.get(IntakeStatus)).toBe('DELETED');
    });
  });

  it('a PDF ends READY with the thumb of its first page made in the resize step', async () => {
    const fake = fakeActivities({}, PDF);
    const input = uploadInput({ filename: 'report.pdf', declaredContentType: 'application/pdf' });
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state.status).toBe('READY');
      expect(state.steps.resize).toMatchObject({ state: 'done', error: null });
      expect(state.steps.store.state).toBe('done');
      expect(state.renditions.map((r) => [r.name, r.format, r.width, r.height])).toEqual([['thumb', 'webp', 198, 256]]);
      expect(fake.calls.makeRenditions).toBe(1);
      expect(fake.calls.storeFile[0]?.renditions.map((r) => r.name)).toEqual(['thumb']);
      expect((await handle.describe()).typedSearchAttributes.get(IntakeStatus)).toBe('READY');
      await deleteNow(handle);
    });
  });

  it('a PDF whose first page cannot be drawn ends READY without a thumb, the resize step saying why', async () => {
    const reason =
      "No thumbnail: the PDF's first page was not drawn within the 30000 ms allowed (INTAKE_PDF_PARSE_TIMEOUT).";
    let attempts = 0;
    const fake = fakeActivities(
      {
        makeRenditions: () => {
          attempts++;
          return Promise.reject(businessFailure(FailureTypes.NoThumbnail, reason));
        },
      },
      PDF,
    );
    const input = uploadInput({ filename: 'report.pdf', declaredContentType: 'application/pdf' });
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state).toMatchObject({ status: 'READY', reason: null, renditions: [] });
      expect(state.steps.resize).toMatchObject({ state: 'skipped', error: reason });
      // Not a retryable failure: one attempt.
      expect(attempts).toBe(1);
      expect(state.steps.index.state).toBe('done');
      expect(fake.calls.removeRenditions).toEqual([]);
      await deleteNow(handle);
    });
  });

  it.each([
    { size: 300_000, local: ['scanFile', 'validateFile', 'storeFile', 'indexFile', 'recordFile'], remote: [] },
    { size: 64 * 1024 * 1024, local: ['indexFile', 'recordFile'], remote: ['scanFile', 'validateFile', 'storeFile'] },
  ])(
    'a $size-byte upload runs $local.length short steps inside workflow tasks and the rest as remote activities',
    async ({ size, local, remote }) => {
      const fake = fakeActivities();
      const input = uploadInput({ fileId: `steps-${size}`, size });
      await withUpload(fake, input, async (handle) => {
        expect((await eventually(() => status(handle), settled)).status).toBe('READY');
        const events = (await handle.fetchHistory()).events ?? [];
        const remoteTypes = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
        const localTypes = events.flatMap((e) => {
          const marker = e.markerRecordedEventAttributes;
          const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : null;
          return data
            ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type]
            : [];
        });
        // Resize always goes to its own task queue; delivery keeps its day-long remote retries.
        expect(remoteTypes).toEqual(expect.arrayContaining([...remote, 'makeRenditions', 'deliverWebhook']));
        for (const type of local) expect(remoteTypes).not.toContain(type);
        expect(localTypes).toEqual(expect.arrayContaining([...local, 'planNotifications']));
        for (const type of remote) expect(localTypes).not.toContain(type);
      });
    },
  );

  it('a file whose content contradicts its declared type ends REJECTED with the reason', async () => {
    const reason = 'the content is a PDF, but it was declared as image/png';
    const fake = fakeActivities({
      async validateFile() {
        throw businessFailure('Rejected', reason);
      },
    });
    const input = uploadInput({ declaredContentType: 'image/png' });
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state).toMatchObject({ status: 'REJECTED', reason });
      expect(state.steps.validate).toMatchObject({ state: 'failed', error: reason });
      expect(state.steps.resize.state).toBe('skipped');
      expect(state.steps.store.state).toBe('skipped');
      expect(fake.calls.storeFile).toHaveLength(0);
      expect(fake.calls.removeRenditions).toHaveLength(0);
      expect(lastRecord(fake)).toMatchObject({ status: 'REJECTED', reason });
      expect(fake.calls.deliverWebhook.map((d) => d.event)).toEqual(['file.rejected', 'file.rejected']);
      expect((await handle.describe()).typedSearchAttributes.get(IntakeStatus)).toBe('REJECTED');
      await deleteNow(handle);
    });
  });

  it('an infected file ends INFECTED naming the signature, and nothing after the scan runs', async () => {
    const fake = fakeActivities({
      async scanFile(input) {
        throw businessFailure('Infected', 'malware found', [
          { signature: 'Eicar-Test-Signature', quarantineKey: `quarantine/${input.tenantId}/${input.fileId}` },
        ]);
      },
    });
    const input = uploadInput({ filename: 'eicar.txt' });
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state.status).toBe('INFECTED');
      expect(state.reason).toContain('Eicar-Test-Signature');
      expect(state.steps.scan).toMatchObject({ state: 'failed', attempts: 1 });
      expect(fake.calls.validateFile).toBe(0);
      expect(fake.calls.storeFile).toHaveLength(0);
      expect(lastRecord(fake)).toMatchObject({ status: 'INFECTED' });
      expect(new Set(fake.calls.deliverWebhook.map((d) => d.messageId))).toEqual(
        new Set([`msg_${input.fileId}_file.infected`]),
      );
      expect((await handle.describe()).typedSearchAttributes.get(IntakeStatus)).toBe('INFECTED');
      await deleteNow(handle);
    });
  });

  it('a failure after resizing ends FAILED and removes the renditions already written', async () => {
    const fake = fakeActivities({
      async storeFile() {
        throw businessFailure('StorageUnavailable', 'the bucket is gone');
      },
    });
    const input = uploadInput();
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state.status).toBe('FAILED');
      expect(state.reason).toContain('the bucket is gone');
      expect(state.steps.resize.state).toBe('done');
      expect(state.steps.store).toMatchObject({ state: 'failed', error: 'the bucket is gone' });
      expect(state.steps.index.state).toBe('skipped');
      expect(state.renditions).toEqual([]);
      expect(fake.calls.removeRenditions).toEqual([
        {
          keys: [
            ...['thumb', 'medium', 'large'].map((n) => `files/${input.tenantId}/${input.fileId}/renditions/${n}.webp`),
            ...['medium-avif', 'large-avif'].map((n) => `files/${input.tenantId}/${input.fileId}/renditions/${n}.avif`),
          ],
        },
      ]);
      expect(lastRecord(fake)).toMatchObject({ status: 'FAILED', renditions: [] });
      expect(fake.calls.deliverWebhook.every((d) => d.event === 'file.failed')).toBe(true);
      await deleteNow(handle);
    });
  });

  it('a flaky scan is retried with backoff and the step records its attempts', async () => {
    let calls = 0;
    const fake = fakeActivities({
      async scanFile(input) {
        calls++;
        if (calls <= 2) throw new Error('connect ECONNREFUSED 127.0.0.1:3310');
        return { sha256: `sha-${input.fileId}`, size: 123_456 };
      },
    });
    const input = uploadInput();
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state.status).toBe('READY');
      expect(calls).toBe(3);
      expect(state.steps.scan).toMatchObject({ state: 'done', attempts: 3, error: null });
      expect(state.steps.validate.attempts).toBe(1);
      await deleteNow(handle);
    });
  });

  it('a refused webhook target marks the notify step failed but leaves the file READY', async () => {
    const fake = fakeActivities({
      async deliverWebhook(input) {
        if (input.target.url === TENANT_ENDPOINT) {
          throw businessFailure('WebhookRefused', 'the endpoint resolves to a private address');
        }
        return { statusCode: 200 };
      },
    });
    const input = uploadInput();
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      expect(state.status).toBe('READY');
      expect(state.steps.notify.state).toBe('failed');
      expect(state.steps.notify.error).toContain('private address');
      await deleteNow(handle);
    });
  });

  it('a delete works while a webhook is still being retried, and the stale delivery is cancelled', async () => {
    let attempts = 0;
    const fake = fakeActivities({
      async deliverWebhook(input) {
        if (input.event === 'file.ready' && input.target.url === TENANT_ENDPOINT) {
          attempts++;
          throw new Error('503 Service Unavailable');
        }
        return { statusCode: 200 };
      },
    });
    const input = uploadInput();
    await withUpload(fake, input, async (handle) => {
      await eventually(
        () => status(handle),
        (s) => s.status === 'READY' && s.steps.notify.attempts >= 2,
      );
      const final = await deleteNow(handle);
      expect(final.status).toBe('DELETED');
      expect(final.steps.notify).toMatchObject({ state: 'failed' });
      expect(final.steps.notify.error).toContain('cancelled');
      expect(attempts).toBeGreaterThanOrEqual(2);
      expect(fake.calls.deleteArtifacts).toHaveLength(1);
      expect(fake.calls.deliverWebhook.filter((d) => d.event === 'file.deleted')).toHaveLength(2);
    });
  });

  it('retention changes are validated, applied and mirrored in the search attributes', async () => {
    const fake = fakeActivities();
    const input = uploadInput({ retentionMinMs: 60_000, retentionMaxMs: 30 * 86_400_000 });
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      const expiresAt = Date.parse(state.expiresAt ?? '');

      const rejected = async (change: Record<string, unknown>) => {
        const error = await handle
          .executeUpdate(retentionUpdate, { args: [change as RetentionChange] })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
        return String((error as WorkflowUpdateFailedError).cause?.message);
      };
      expect(await rejected({ expiresAt: new Date(Date.now() - 60_000).toISOString() })).toContain('future');
      expect(await rejected({ extendByMs: -1000 })).toContain('positive');
      expect(await rejected({ extendByMs: 0 })).toContain('positive');
      expect(await rejected({ expiresAt: 'next tuesday' })).toContain('ISO');
      expect(await rejected({ expiresAt: new Date(expiresAt + 60 * 86_400_000).toISOString() })).toContain('within');
      expect(await rejected({ expiresAt: state.expiresAt, extendByMs: 1000 })).toContain('either');
      expect(await rejected({})).toContain('nothing to change');
      expect((await status(handle)).expiresAt).toBe(state.expiresAt);

      const extended = await handle.executeUpdate(retentionUpdate, { args: [{ extendByMs: 86_400_000 }] });
      expect(extended).toEqual({ expiresAt: new Date(expiresAt + 86_400_000).toISOString(), hold: false });
      const held = await handle.executeUpdate(retentionUpdate, { args: [{ hold: true }] });
      expect(held.hold).toBe(true);

      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(IntakeExpiresAt)?.toISOString()).toBe(extended.expiresAt);
      expect(described.typedSearchAttributes.get(IntakeHold)).toBe(true);
      await eventually(
        async () => lastRecord(fake),
        (r) => r?.hold === true && r.expiresAt === extended.expiresAt,
      );

      // Held, a delete is refused by the workflow itself; released, the same delete goes through.
      await handle.signal(deleteSignal, { reason: 'requested' });
      await eventually(
        () => status(handle),
        (s) => s.refusedDeletes === 1,
      );
      expect((await status(handle)).status).toBe('READY');
      await handle.executeUpdate(retentionUpdate, { args: [{ hold: false }] });
      await handle.signal(deleteSignal, { reason: 'requested' });
      await handle.result();
      const late = await handle.executeUpdate(retentionUpdate, { args: [{ hold: true }] }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(Error);
    });
  });

  it('a retention change Postgres refuses to record is kept by the workflow, which still deletes on time', async () => {
    let refuse = false;
    const fake = fakeActivities({
      async recordFile() {
        if (refuse) throw businessFailure('DatabaseError', 'value too long for type character varying(64)');
      },
    });
    const input = uploadInput({ fileId: 'record-refused', retentionMs: 60_000, retentionMinMs: 1_000 });
    await withUpload(fake, input, async (handle) => {
      const state = await eventually(() => status(handle), settled);
      refuse = true;
      const expiresAt = new Date(Date.now() + 2_000).toISOString();
      await handle.executeUpdate(retentionUpdate, { args: [{ expiresAt }] });
      await eventually(
        () => status(handle),
        (s) => s.expiresAt === expiresAt,
      );
      refuse = false;
      const final = await handle.result();
      expect(final).toMatchObject({ status: 'DELETED', deletionReason: 'expired' });
      expect(Date.parse(final.deletedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(expiresAt));
      expect(Date.parse(final.deletedAt ?? '')).toBeLessThan(Date.parse(state.expiresAt ?? ''));
    });
  });

  it('a hold keeps a file past its expiry, and releasing it lets the expiry delete the file', async () => {
    const fake = fakeActivities();
    const input = uploadInput({ retentionMs: 3_000, retentionMinMs: 1_000 });
    await withUpload(fake, input, async (handle) => {
      await eventually(
        () => status(handle),
        (s) => s.status === 'READY',
      );
      await handle.executeUpdate(retentionUpdate, { args: [{ hold: true }] });
      const expiresAt = Date.parse((await status(handle)).expiresAt ?? '');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1_500));
      expect((await status(handle)).status).toBe('READY');
      expect(fake.calls.deleteArtifacts).toHaveLength(0);

      await handle.executeUpdate(retentionUpdate, { args: [{ hold: false }] });
      const final = await handle.result();
      expect(final).toMatchObject({ status: 'DELETED', deletionReason: 'expired' });
      expect(fake.calls.deleteArtifacts).toEqual([
        { fileId: input.fileId, tenantId: input.tenantId, reason: 'expired' },
      ]);
    });
  });

  it('a client looping on retention changes gets RateLimited past the budget, and what was refused is not applied', async () => {
    // (That such a loop still continues the workflow as new, carrying its state, is in bounded-history.test.ts.)
    const fake = fakeActivities();
    const input = uploadInput();
    await withUpload(fake, input, async (handle) => {
      const first = await eventually(() => status(handle), settled);
      let expected = Date.parse(first.expiresAt ?? '');
      const refusals: unknown[] = [];
      for (let i = 0; i < RETENTION_CHANGES_PER_MINUTE + 2; i++) {
        try {
          const result = await handle.executeUpdate(retentionUpdate, { args: [{ extendByMs: 60_000 }] });
          expected += 60_000;
          expect(Date.parse(result.expiresAt ?? '')).toBe(expected);
        } catch (error) {
          refusals.push(error);
        }
      }
      // A minute cannot pass on this real-time server within a dozen calls: exactly the budget is taken.
      expect(refusals).toHaveLength(2);
      for (const refusal of refusals) {
        expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((refusal as WorkflowUpdateFailedError).cause).toMatchObject({ type: FailureTypes.RateLimited });
      }
      expect(Date.parse((await status(handle)).expiresAt ?? '')).toBe(Date.parse(first.expiresAt ?? '') + 10 * 60_000);
      const final = await deleteNow(handle);
      expect(final.status).toBe('DELETED');
    });
  });

  it('a run continued-as-new with carried state skips processing and keeps its expiry', async () => {
    const fake = fakeActivities();
    const input = uploadInput({ retentionMs: 2_000, retentionMinMs: 1_000 });
    const workers = await startWorkers(env, fake.activities);
    try {
      const completedAt = new Date();
      const carried: FileState = {
        fileId: input.fileId,
        tenantId: input.tenantId,
        filename: input.filename,
        status: 'READY',
        reason: null,
        contentType: 'application/pdf',
        size: input.size,
        sha256: 'abc',
        width: null,
        height: null,
        renditions: [],
        tags: [],
        steps: Object.fromEntries(
          (['scan', 'validate', 'resize', 'store', 'index', 'notify'] as const).map((s) => [
            s,
            { state: 'done', attempts: 1, startedAt: null, finishedAt: null, error: null },
          ]),
        ) as FileState['steps'],
        createdAt: input.createdAt,
        completedAt: completedAt.toISOString(),
        expiresAt: new Date(completedAt.getTime() + 2_000).toISOString(),
        hold: false,
        deletedAt: null,
        deletionReason: null,
      };
      const final = await env.client.workflow.execute(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input, carried],
      });
      expect(final).toMatchObject({ status: 'DELETED', deletionReason: 'expired' });
      expect(Date.parse(final.deletedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(carried.expiresAt ?? ''));
      expect(fake.calls.scanFile).toBe(0);
      expect(fake.calls.deliverWebhook.map((d) => d.event)).toEqual(['file.deleted', 'file.deleted']);
    } finally {
      await workers.stop();
    }
  });
});
