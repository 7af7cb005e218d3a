import type pg from 'pg';
import type { IntakeClient } from '../api/client';
import { cpuByProcess, cpuMeter, perFile } from './cpu';
import { mapConcurrent } from './stats';

export interface PipelineRun {
  files: number;
  elapsedMs: number;
  filesPerSecond: number;
  notReady: number;
  /** Share of the machine's CPU (all cores) busy during the run. */
  cpuBusy: number;
  /** CPU milliseconds per file spent by each process tree (Temporal, MinIO, Postgres, clamd, API, workers…). */
  cpuMsPerFile: Record<string, number>;
}

/** Polls Postgres (cheaply, off the API) until none of `ids` is PROCESSING; returns their rows. */
export async function waitForOutcomes(
  pool: pg.Pool,
  ids: readonly string[],
  options: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<{ id: string; status: string; updatedAtMs: number }[]> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (;;) {
    const { rows } = await pool.query<{ id: string; status: string; updated: string }>(
      // extract(epoch) reads Prisma's timestamp(3) (UTC, without zone) as UTC whatever the session zone.
      `SELECT id, status, (extract(epoch from "updatedAt") * 1000)::float8 AS updated FROM "File" WHERE id = ANY($1)`,
      [ids],
    );
    if (rows.length === ids.length && rows.every((r) => r.status !== 'PROCESSING')) {
      return rows.map((r) => ({ id: r.id, status: r.status, updatedAtMs: Number(r.updated) }));
    }
    if (Date.now() > deadline) {
      const left = ids.length - rows.filter((r) => r.status !== 'PROCESSING').length;
      throw new Error(
        `${left} of ${ids.length} uploads were still processing after ${options.timeoutMs ?? 300_000} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

/**
 * The pipeline at saturation: every file is uploaded through the API (raw body, `uploadConcurrency`
 * requests in flight, so a backlog forms in Temporal at once) and the clock stops when the last one is
 * recorded READY (its row's updatedAt, written by the worker's recordFile on this same machine).
 */
export async function measurePipeline(options: {
  client: IntakeClient;
  pool: pg.Pool;
  images: readonly Buffer[];
  uploadConcurrency: number;
  label: string;
  processes: () => Record<string, number>;
}): Promise<PipelineRun> {
  const { client, pool, images, uploadConcurrency, label } = options;
  const cpu = cpuMeter();
  const perProcess = cpuByProcess(options.processes);
  const startedAt = Date.now();
  const ids = await mapConcurrent(images, uploadConcurrency, async (bytes, i) => {
    const accepted = await client.uploadFile(bytes, {
      filename: `${label}-${i}.jpg`,
      contentType: 'image/jpeg',
      mode: 'raw',
    });
    return accepted.id;
  });
  const rows = await waitForOutcomes(pool, ids);
  const cpuBusy = cpu.stop();
  const cpuSeconds = perProcess.stop();
  const finishedAt = Math.max(...rows.map((r) => r.updatedAtMs));
  const elapsedMs = finishedAt - startedAt;
  return {
    files: images.length,
    elapsedMs,
    filesPerSecond: images.length / (elapsedMs / 1000),
    notReady: rows.filter((r) => r.status !== 'READY').length,
    cpuBusy,
    cpuMsPerFile: perFile(cpuSeconds, images.length),
  };
}
