import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Client, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertProcessing } from '../../prisma/files';
import {
  abortStaleMultipartUploads,
  createSweeperActivities,
  INTERRUPTED_REASON,
} from '../../activities/sweep-orphans';
import type { SweepPageResult } from '../../activities/types';
import { dataConverterFor } from '../../lib/data-converter';
import { storageKeys } from '../../lib/storage-keys';
import { createWorkers } from '../../workers/create-worker';
import { ensureSweeperSchedule, SWEEPER_SCHEDULE_ID } from '../../workers/sweeper-schedule';
import { GENERAL_TASK_QUEUE, workflowIdFor } from '../../common/task-queues';
import { sweepOrphansWorkflow } from '../../workflows/index';
import { statusQuery } from '../../common/messages';
import type { SweepResult } from '../../workflows/sweep-workflow';
import { createTenant, exists, newFileId, openActivityStack, putObject, type ActivityStack } from './activities-stack';

/*
 * The sweeper on the real stack (MinIO, PostgreSQL, clamd, Temporal dev server) through the real
 * worker set-up: each kind of debris a crash between the API's steps can leave, swept by the
 * scheduled workflow itself.
 */

// The worker's state changes and the sweep's own summary would bury the test report.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed in this process: keep that one.
}

const TENANT = 'sweep-tenant';
let stack: ActivityStack;
let connection: NativeConnection;
let client: Client;
let workers: Worker[];
let running: Promise<unknown>;
const startedWorkflows: string[] = [];

beforeAll(async () => {
  stack = await openActivityStack();
  await createTenant(stack.db, TENANT);
  connection = await NativeConnection.connect({ address: stack.config.temporal.address });
  const dataConverter = dataConverterFor(stack.config);
  client = new Client({ connection, namespace: stack.config.temporal.namespace, dataConverter });
  workers = await createWorkers({
    connection,
    namespace: stack.config.temporal.namespace,
    dataConverter,
    kind: 'all',
    activities: stack.activities,
    sweeperActivities: createSweeperActivities({
      config: stack.config,
      s3: stack.s3,
      db: stack.db,
      temporal: client,
    }),
    shutdownGraceTime: '1 second',
  });
  running = Promise.all(workers.map((w) => w.run()));
});

afterAll(async () => {
  // The recovered upload now waits on its 7-day retention timer; nothing else should pick it up.
  for (const id of startedWorkflows) {
    await client?.workflow
      .getHandle(id)
      .terminate('test finished')
      .catch(() => undefined);
  }
  await client?.schedule
    .getHandle(SWEEPER_SCHEDULE_ID)
    .delete()
    .catch(() => undefined);
  for (const w of workers ?? []) if (w.getState() === 'RUNNING') w.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
  await stack?.close();
});

function sweep(graceMs?: number): Promise<SweepResult> {
  return client.workflow.execute(sweepOrphansWorkflow, {
    taskQueue: GENERAL_TASK_QUEUE,
    workflowId: `sweep-test-${newFileId()}`,
    args: [graceMs === undefined ? {} : { graceMs, pageSize: 2 }],
  });
}

/** A File row as the API writes it just before starting the workflow (here: a start that never happened). */
async function acceptedRow(fileId: string, filename: string, retentionMs = 7 * 86_400_000) {
  await insertProcessing(stack.db, {
    id: fileId,
    tenantId: TENANT,
    workflowId: workflowIdFor(fileId),
    filename,
    declaredContentType: 'text/plain',
    size: 12,
    tags: ['swept'],
    callbackUrl: null,
    retentionMs,
    idempotencyKey: null,
    storageKey: storageKeys.incoming(TENANT, fileId),
    createdAt: new Date(Date.now() - 1_000),
  });
}

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function multipartUploadAlive(key: string, uploadId: string): Promise<boolean> {
  try {
    await stack.s3.send(new ListPartsCommand({ Bucket: stack.config.s3.bucket, Key: key, UploadId: uploadId }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchUpload') return false;
    throw error;
  }
}

async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the orphan sweeper on the real stack', () => {
  // (a) the client never got a 202: bytes without a row.
  const orphanId = newFileId();
  const orphanKey = storageKeys.incoming(TENANT, orphanId);
  // (b) accepted (row + bytes) but the workflow start was lost.
  const stalledId = newFileId();
  const stalledKey = storageKeys.incoming(TENANT, stalledId);
  // (c) accepted, but neither the bytes nor the workflow exist.
  const lostId = newFileId();

  beforeAll(async () => {
    await putObject(stack, orphanKey, 'nobody accepted this');
    await putObject(stack, stalledKey, 'hello, world');
    // Uploaded with retention=30d: the restart must keep it, not fall back to the 7-day default.
    await acceptedRow(stalledId, 'notes.txt', 30 * 86_400_000);
    await acceptedRow(lostId, 'lost.txt');
  });

  it('with the default one-hour grace, touches nothing that is only seconds old', async () => {
    await sweep();
    expect(await exists(stack, orphanKey)).toBe(true);
    expect(await exists(stack, stalledKey)).toBe(true);
    expect(await workflowExists(workflowIdFor(stalledId))).toBe(false);
    expect((await stack.db.file.findUniqueOrThrow({ where: { id: lostId } })).status).toBe('PROCESSING');
  });

  it('past the grace: deletes the unaccepted object, restarts the lost workflow and fails the upload whose bytes are gone', async () => {
    const result = await sweep(0);
    startedWorkflows.push(workflowIdFor(stalledId));

    // (a)
    expect(await exists(stack, orphanKey)).toBe(false);
    expect(result.orphanObjectsDeleted).toBeGreaterThanOrEqual(1);

    // (b) the upload is processed as if the API had started it: nothing accepted is lost.
    expect(result.uploadsRestarted).toBeGreaterThanOrEqual(1);
    const handle = client.workflow.getHandle(workflowIdFor(stalledId));
    const state = await until(
      () => handle.query(statusQuery),
      (s) => s.status !== 'PROCESSING',
    );
    expect(state).toMatchObject({
      fileId: stalledId,
      tenantId: TENANT,
      filename: 'notes.txt',
      tags: ['swept'],
      status: 'READY',
    });
    expect(Date.parse(state.expiresAt!) - Date.parse(state.completedAt!)).toBe(30 * 86_400_000);
    const recovered = await stack.db.file.findUniqueOrThrow({ where: { id: stalledId } });
    expect(recovered.status).toBe('READY');
    expect(await exists(stack, storageKeys.original(TENANT, stalledId))).toBe(true);

    // (c)
    const lost = await stack.db.file.findUniqueOrThrow({ where: { id: lostId } });
    expect(lost).toMatchObject({ status: 'FAILED', reason: INTERRUPTED_REASON });
    expect(lost.completedAt).toBeInstanceOf(Date);
    expect(await workflowExists(workflowIdFor(lostId))).toBe(false);
    expect(result.uploadsFailed).toBeGreaterThanOrEqual(1);
  });

  it('is idempotent: sweeping again finds nothing left to do and changes nothing', async () => {
    const again = await sweep(0);
    expect(again).toMatchObject({
      orphanObjectsDeleted: 0,
      uploadsRestarted: 0,
      uploadsFailed: 0,
      multipartUploadsAborted: 0,
    });
    expect((await stack.db.file.findUniqueOrThrow({ where: { id: stalledId } })).status).toBe('READY');
    expect((await stack.db.file.findUniqueOrThrow({ where: { id: lostId } })).status).toBe('FAILED');
  });
});

describe('stale multipart uploads', () => {
  // MinIO lists multipart uploads only for an exact key (S3 proper lists by prefix), so the page is
  // run here on one key: the same listing, cutoff and abort calls the sweep makes under incoming/.
  it('are aborted when started before the cutoff; newer ones, possibly still uploading, are kept', async () => {
    const key = storageKeys.incoming(TENANT, newFileId());
    const bucket = stack.config.s3.bucket;
    const startUpload = async () => {
      const { UploadId } = await stack.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await stack.s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: 'half an upload' }),
      );
      return UploadId!;
    };
    const stale = await startUpload();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const olderThan = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const fresh = await startUpload();
    try {
      const deps = { config: stack.config, s3: stack.s3, db: stack.db, temporal: client };
      let aborted = 0;
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: SweepPageResult = await abortStaleMultipartUploads(deps, { olderThan, pageSize: 1, cursor }, key);
        aborted += page.counts.multipartUploadsAborted ?? 0;
        cursor = page.nextCursor;
      } while (cursor !== null && ++pages < 10);

      expect(aborted).toBe(1);
      expect(await multipartUploadAlive(key, stale)).toBe(false);
      expect(await multipartUploadAlive(key, fresh)).toBe(true);

      // Idempotent: the stale one is gone, so a second pass aborts nothing.
      const again = await abortStaleMultipartUploads(deps, { olderThan, pageSize: 100, cursor: null }, key);
      expect(again.counts.multipartUploadsAborted).toBe(0);
    } finally {
      await stack.s3
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: fresh }))
        .catch(() => undefined);
    }
  });
});

describe('the sweeper schedule', () => {
  it('is created once, every 15 minutes with overlap SKIP, and a second worker start leaves it alone', async () => {
    await client.schedule
      .getHandle(SWEEPER_SCHEDULE_ID)
      .delete()
      .catch((error: unknown) => {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      });
    expect(await ensureSweeperSchedule(client)).toBe(true);
    expect(await ensureSweeperSchedule(client)).toBe(false);

    const schedule = await client.schedule.getHandle(SWEEPER_SCHEDULE_ID).describe();
    expect(schedule.spec.intervals).toMatchObject([{ every: 15 * 60_000 }]);
    expect(schedule.policies.overlap).toBe('SKIP');
    expect(schedule.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'sweepOrphansWorkflow',
      taskQueue: GENERAL_TASK_QUEUE,
    });
  });
});
