import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { IntakeClient } from '../api/client';
import { retentionUpdate, statusQuery } from '../common/messages';
import { workflowIdFor } from '../common/task-queues';
import { mapConcurrent } from './stats';

/*
 * Many small files waiting on their retention timers, made quickly: tiny text files through
 * POST /v1/batches (one request per `batchSize` files, each still its own upload workflow: scan,
 * validate, store, index, record), then waited for in Postgres by batch. Used by the open-workflows
 * and the retention-storm measurements.
 */

export interface RetainedFiles {
  ids: string[];
  batchIds: string[];
  /** First batch sent → last file READY. */
  elapsedMs: number;
  filesPerSecond: number;
}

export async function createRetainedFiles(options: {
  client: IntakeClient;
  pool: pg.Pool;
  count: number;
  label: string;
  retention: string;
  batchSize?: number;
  log: (line: string) => void;
}): Promise<RetainedFiles> {
  const { client, pool, count, label } = options;
  const batchSize = options.batchSize ?? 500;
  const started = Date.now();
  const batches = Array.from({ length: Math.ceil(count / batchSize) }, (_, b) =>
    Array.from({ length: Math.min(batchSize, count - b * batchSize) }, (_, i) => ({
      body: `${label} file ${b * batchSize + i}: retained until its timer fires\n`,
      filename: `${label}-${b * batchSize + i}.txt`,
      contentType: 'text/plain',
    })),
  );
  const accepted = await mapConcurrent(batches, 2, async (files) => {
    const batch = await client.createBatch(files, { retention: options.retention });
    return batch;
  });
  const batchIds = accepted.map((b) => b.id);
  const ids = accepted.flatMap((b) => b.files.map((f) => f.id));
  options.log(`${label}: ${ids.length} files accepted in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  let lastLog = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ processing: string; ready: string; last: string | null }>(
      `SELECT count(*) FILTER (WHERE status = 'PROCESSING') AS processing,
              count(*) FILTER (WHERE status = 'READY') AS ready,
              (extract(epoch from max("updatedAt")) * 1000)::float8 AS last
         FROM "File" WHERE "batchId" = ANY($1)`,
      [batchIds],
    );
    const row = rows[0]!;
    if (Number(row.processing) === 0) {
      if (Number(row.ready) !== ids.length) {
        throw new Error(`${label}: only ${row.ready} of ${ids.length} files ended READY`);
      }
      const elapsedMs = Number(row.last) - started;
      return { ids, batchIds, elapsedMs, filesPerSecond: ids.length / (elapsedMs / 1000) };
    }
    if (Date.now() - lastLog > 30_000) {
      lastLog = Date.now();
      options.log(`${label}: ${row.ready} of ${ids.length} READY`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** Moves every file's expiry to `expiresAt` with the workflow's retention update (what PATCH …/retention sends). */
export async function expireAllAt(
  temporal: Client,
  ids: readonly string[],
  expiresAt: Date,
  concurrency = 16,
): Promise<void> {
  await mapConcurrent(ids, concurrency, (id) =>
    temporal.workflow
      .getHandle(workflowIdFor(id))
      .executeUpdate(retentionUpdate, { args: [{ expiresAt: expiresAt.toISOString() }] }),
  );
}

/** One status query straight to the workflow (no API), in ms. */
export async function timeStatusQuery(temporal: Client, id: string): Promise<number> {
  const started = performance.now();
  await temporal.workflow.getHandle(workflowIdFor(id)).query(statusQuery);
  return performance.now() - started;
}
