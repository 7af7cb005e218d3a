import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { IntakeClient } from '../api/client';
import { waitForOutcomes } from './measure-pipeline';
import { timeToFirstByte } from './measure-status';
import { sampleRss } from './processes';
import { expireAllAt, type RetainedFiles } from './retained-files';
import { median, percentile, round } from './stats';

/*
 * A retention storm: every file of `files` gets the same expiry (the workflow's retention update, as
 * PATCH …/retention sends it), then from that instant until the last row is DELETED a reader GETs
 * READY probe files one after another and an uploader sends a small file every second. The storm's
 * figures are its duration, the reads' p95 against the quiet p95 measured just before, whether every
 * upload was accepted, and that no object of an expired file is left in S3.
 */

export interface StormResult {
  files: number;
  /** Updates sent → all acknowledged, and the margin left before the common expiry. */
  scheduleMs: number;
  marginMs: number;
  /** The common expiry → the last file DELETED. */
  durationMs: number;
  filesPerSecond: number;
  quietReadP95Ms: number;
  stormReadP95Ms: number;
  stormReadP50Ms: number;
  readRatio: number;
  reads: number;
  uploadsSent: number;
  uploadsAccepted: number;
  uploadAcceptP95Ms: number;
  uploadReadyP50Ms: number;
  uploadReadyP95Ms: number;
  objectsLeft: number;
  workerRssPeakMB: number;
  /** Files DELETED at 1, 2, 5 and 10 minutes after the expiry. */
  progress: { afterS: number; deleted: number }[];
  loadAverage: number[];
}

export async function measureStorm(options: {
  client: IntakeClient;
  temporal: Client;
  pool: pg.Pool;
  s3: S3Client;
  bucket: string;
  tenantId: string;
  apiUrl: string;
  apiKey: string;
  workerPid: number;
  files: RetainedFiles;
  probeIds: readonly string[];
  quietReads: number;
  timeoutMs: number;
  log: (line: string) => void;
}): Promise<StormResult> {
  const { client, pool, files, probeIds, log } = options;
  const read = async () => {
    const id = probeIds[Math.floor(Math.random() * probeIds.length)]!;
    const answer = await timeToFirstByte(`${options.apiUrl}/v1/files/${id}`, options.apiKey);
    if (answer.status !== 200) throw new Error(`GET /v1/files/${id} answered ${answer.status}`);
    return answer.ms;
  };
  const quiet: number[] = [];
  for (let i = 0; i < options.quietReads; i++) quiet.push(await read());

  // Room for the updates themselves, so the expiry is one instant for all: an update to a time already
  // past is refused. Their pace depends on the workflow cache (an evicted workflow replays its history
  // first), so a first slice is timed with an expiry an hour away, and the rest get room for 1.5 times
  // the pace it showed; the slice is then moved to the common expiry with the others.
  const scheduleStarted = Date.now();
  const slice = files.ids.slice(0, Math.min(files.ids.length, 200));
  await expireAllAt(options.temporal, slice, new Date(scheduleStarted + 3_600_000));
  const msPerUpdate = (Date.now() - scheduleStarted) / slice.length;
  const expiry = new Date(Date.now() + Math.max(60_000, 30_000 + files.ids.length * msPerUpdate * 1.5));
  await expireAllAt(options.temporal, files.ids, expiry);
  const scheduleMs = Date.now() - scheduleStarted;
  const marginMs = expiry.getTime() - Date.now();
  log(
    `storm: ${files.ids.length} expiries set in ${(scheduleMs / 1000).toFixed(0)} s; fires in ${(marginMs / 1000).toFixed(0)} s`,
  );
  if (marginMs > 0) await new Promise((resolve) => setTimeout(resolve, marginMs));

  const stormStart = expiry.getTime();
  const rss = sampleRss(options.workerPid, 500);
  let done = false;
  const reads: { at: number; ms: number }[] = [];
  // Paced at 25 a second: back to back, the reader alone would pass the tenant's 100 requests a second.
  const reader = (async () => {
    while (!done) {
      reads.push({ at: Date.now(), ms: await read() });
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  })();
  const uploads: { ok: boolean; ms: number; id?: string }[] = [];
  const uploader = (async () => {
    for (let i = 0; !done; i++) {
      const started = performance.now();
      try {
        const accepted = await client.uploadFile(`uploaded during the storm ${i}\n`, {
          filename: `storm-new-${i}.txt`,
          contentType: 'text/plain',
          retention: '2h',
          mode: 'raw',
        });
        uploads.push({ ok: true, ms: performance.now() - started, id: accepted.id });
      } catch {
        uploads.push({ ok: false, ms: performance.now() - started });
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })();
  const progress: { afterS: number; deleted: number }[] = [];
  const marks = [60, 120, 300, 600];
  let lastDeletedAt = stormStart;
  let deleted = 0;
  while (Date.now() - stormStart < options.timeoutMs) {
    const { rows } = await pool.query<{ deleted: string; last: string | null }>(
      `SELECT count(*) FILTER (WHERE status = 'DELETED') AS deleted,
              (extract(epoch from max("deletedAt")) * 1000)::float8 AS last
         FROM "File" WHERE "batchId" = ANY($1)`,
      [files.batchIds],
    );
    deleted = Number(rows[0]!.deleted);
    lastDeletedAt = Number(rows[0]!.last ?? stormStart);
    const afterS = (Date.now() - stormStart) / 1000;
    while (marks.length > 0 && afterS >= marks[0]!) progress.push({ afterS: marks.shift()!, deleted });
    if (deleted === files.ids.length) break;
    if (Math.floor(afterS) % 30 < 2)
      log(`storm: ${deleted} of ${files.ids.length} deleted after ${afterS.toFixed(0)} s`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  done = true;
  await Promise.all([reader, uploader]);
  const { peak } = rss.stop();
  const loadAverage = (await import('node:os')).loadavg().map((l) => round(l));
  if (deleted !== files.ids.length) log(`storm: only ${deleted} of ${files.ids.length} deleted before the timeout`);

  const stormReads = reads.filter((r) => r.at >= stormStart && r.at <= lastDeletedAt).map((r) => r.ms);
  const accepted = uploads.filter((u) => u.ok && u.id !== undefined);
  const readyRows = await waitForOutcomes(
    pool,
    accepted.map((u) => u.id!),
    { intervalMs: 500, timeoutMs: 300_000 },
  );
  const sentAt = new Map<string, number>();
  // An upload's row is created when it is accepted; its READY time is measured from then.
  const { rows: created } = await pool.query<{ id: string; created: string }>(
    `SELECT id, (extract(epoch from "createdAt") * 1000)::float8 AS created FROM "File" WHERE id = ANY($1)`,
    [accepted.map((u) => u.id!)],
  );
  for (const row of created) sentAt.set(row.id, Number(row.created));
  const toReady = readyRows.map((r) => r.updatedAtMs - (sentAt.get(r.id) ?? r.updatedAtMs));

  const objectsLeft = await countObjectsOf(options.s3, options.bucket, options.tenantId, new Set(files.ids));
  const durationMs = lastDeletedAt - stormStart;
  const stormP95 = percentile(stormReads, 95);
  const quietP95 = percentile(quiet, 95);
  return {
    files: files.ids.length,
    scheduleMs,
    marginMs,
    durationMs,
    filesPerSecond: round(deleted / (durationMs / 1000)),
    quietReadP95Ms: round(quietP95, 1),
    stormReadP95Ms: round(stormP95, 1),
    stormReadP50Ms: round(median(stormReads), 1),
    readRatio: round(stormP95 / quietP95),
    reads: stormReads.length,
    uploadsSent: uploads.length,
    uploadsAccepted: accepted.length,
    uploadAcceptP95Ms: round(
      percentile(
        accepted.map((u) => u.ms),
        95,
      ),
      1,
    ),
    uploadReadyP50Ms: Math.round(median(toReady)),
    uploadReadyP95Ms: Math.round(percentile(toReady, 95)),
    objectsLeft,
    workerRssPeakMB: round(peak / 2 ** 20, 1),
    progress,
    loadAverage,
  };
}

/** Objects still stored under any of `fileIds` (original, renditions, incoming, quarantine). */
async function countObjectsOf(s3: S3Client, bucket: string, tenantId: string, fileIds: Set<string>): Promise<number> {
  let left = 0;
  for (const prefix of [`files/${tenantId}/`, `incoming/${tenantId}/`, `quarantine/${tenantId}/`]) {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        const fileId = object.Key?.slice(prefix.length).split('/')[0];
        if (fileId !== undefined && fileIds.has(fileId)) left++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return left;
}
