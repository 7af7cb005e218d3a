import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { IntakeActivities } from '../activities/types';
import type { Config } from '../config/env';
import { storageKeys } from '../lib/storage-keys';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FileState, UploadInput } from '../common/domain';
import { STEP_NAMES } from '../common/domain';
import { cpuByProcess, cpuMeter, perFile } from './cpu';
import { mapConcurrent } from './stats';

export interface LimitRun {
  concurrency: number;
  files: number;
  elapsedMs: number;
  filesPerSecond: number;
  /** Share of the machine's CPU (all cores) busy during the run. */
  cpuBusy: number;
  /** CPU milliseconds per file by process tree (this process does the activities' own work). */
  cpuMsPerFile: Record<string, number>;
}

/**
 * The in-process limit: the work the pipeline must do for each file — put the bytes in S3, then
 * Intake's own scan, validate, resize, store, index and record activities — called directly in one
 * process at `concurrency` files in flight. No HTTP, no Temporal: what is left is the cost of the work.
 * makeRenditions heartbeats, so every activity runs inside a MockActivityEnvironment.
 */
export async function measureLimit(options: {
  activities: IntakeActivities;
  config: Config;
  s3: S3Client;
  tenantId: string;
  images: readonly Buffer[];
  concurrency: number;
  runId: string;
  processes: () => Record<string, number>;
}): Promise<LimitRun> {
  const { activities: a, config, s3, tenantId, images, concurrency, runId } = options;
  const cpu = cpuMeter();
  const perProcess = cpuByProcess(options.processes);
  const started = performance.now();
  await mapConcurrent(images, concurrency, async (bytes, i) => {
    const fileId = `f_limit_${runId}_${i}`;
    const key = storageKeys.incoming(tenantId, fileId);
    await s3.send(new PutObjectCommand({ Bucket: config.s3.bucket, Key: key, Body: bytes, ContentType: 'image/jpeg' }));
    const env = new MockActivityEnvironment();
    // run()'s generics do not infer the result type; pin it to the activity's own.
    const call = <I, O>(activity: (input: I) => Promise<O>, input: I): Promise<O> =>
      env.run(activity, input) as Promise<O>;
    const scan = await call(a.scanFile, { fileId, tenantId, key });
    const validation = await call(a.validateFile, {
      fileId,
      key,
      size: scan.size,
      declaredContentType: 'image/jpeg',
    });
    const renditions = await call(a.makeRenditions, { fileId, tenantId, key });
    const createdAt = new Date().toISOString();
    const upload: UploadInput = {
      fileId,
      tenantId,
      filename: `limit-${i}.jpg`,
      declaredContentType: 'image/jpeg',
      size: bytes.length,
      incomingKey: key,
      tags: [],
      callbackUrl: null,
      retentionMs: config.retention.defaultMs,
      createdAt,
    };
    await call(a.storeFile, { upload, scan, validation, renditions });
    await call(a.indexFile, { fileId, tenantId });
    const now = new Date().toISOString();
    const done = { state: 'done' as const, attempts: 1, startedAt: now, finishedAt: now, error: null };
    const state: FileState = {
      fileId,
      tenantId,
      filename: upload.filename,
      status: 'READY',
      reason: null,
      contentType: validation.contentType,
      size: scan.size,
      sha256: scan.sha256,
      width: validation.width,
      height: validation.height,
      renditions,
      tags: [],
      steps: Object.fromEntries(STEP_NAMES.map((name) => [name, { ...done }])) as FileState['steps'],
      createdAt,
      completedAt: now,
      expiresAt: new Date(Date.now() + config.retention.defaultMs).toISOString(),
      hold: false,
      deletedAt: null,
      deletionReason: null,
    };
    await call(a.recordFile, state);
  });
  const elapsedMs = performance.now() - started;
  return {
    concurrency,
    files: images.length,
    elapsedMs,
    filesPerSecond: images.length / (elapsedMs / 1000),
    cpuBusy: cpu.stop(),
    cpuMsPerFile: perFile(perProcess.stop(), images.length),
  };
}
