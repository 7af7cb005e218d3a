import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { runIntakeCli } from './intake-cli';
import { round } from './stats';

/*
 * `intake export` (BENCH_ONLY=export): synthetic File rows of one tenant, written straight into
 * Postgres in the shape the pipeline leaves (steps JSON with timings, three renditions), then the CLI
 * run as a child process, as an operator runs it, for CSV and Parquet to a file and Parquet to S3, at
 * two row counts. Rows/s is wall time of the whole command (Node and tsx start-up included); peak RSS
 * is the child's VmRSS sampled every 50 ms. Same row counts at two sizes show whether memory grows
 * with the result.
 */

const TENANT = 'bench-export';

export interface ExportRun {
  rows: number;
  format: 'csv' | 'parquet';
  target: 'file' | 's3';
  seconds: number;
  rowsPerSecond: number;
  peakRssMB: number;
  bytes: number | null;
}

async function seed(pool: pg.Pool, rows: number): Promise<void> {
  await pool.query(`DELETE FROM "File" WHERE "tenantId" = $1`, [TENANT]);
  await pool.query(`INSERT INTO "Tenant" ("id", "webhookSecret") VALUES ($1, 'whsec_bench') ON CONFLICT DO NOTHING`, [
    TENANT,
  ]);
  // One statement per 10k rows keeps each insert's memory small on the server too.
  for (let from = 1; from <= rows; from += 10_000) {
    const to = Math.min(rows, from + 9_999);
    await pool.query(
      `INSERT INTO "File" ("id", "tenantId", "workflowId", "filename", "contentType", "size", "chargedBytes",
         "status", "width", "height", "steps", "renditions", "createdAt", "updatedAt", "completedAt")
       SELECT 'fx_' || i, $1, 'upload-fx_' || i, 'photo ' || i || ', "bench".jpg', 'image/jpeg', 200000 + i, 200000 + i,
         'READY', 1224, 816,
         jsonb_build_object(
           'scan', jsonb_build_object('state', 'done', 'attempts', 1, 'startedAt', to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'finishedAt', to_char(t + interval '40 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'error', null),
           'validate', jsonb_build_object('state', 'done', 'attempts', 1, 'startedAt', to_char(t + interval '41 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'finishedAt', to_char(t + interval '60 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'error', null),
           'resize', jsonb_build_object('state', 'done', 'attempts', 1, 'startedAt', to_char(t + interval '61 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'finishedAt', to_char(t + interval '400 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'error', null),
           'store', jsonb_build_object('state', 'done', 'attempts', 1, 'startedAt', to_char(t + interval '401 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'finishedAt', to_char(t + interval '420 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'error', null),
           'index', jsonb_build_object('state', 'done', 'attempts', 1, 'startedAt', to_char(t + interval '421 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'finishedAt', to_char(t + interval '430 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'error', null),
           'notify', jsonb_build_object('state', 'skipped', 'attempts', 0, 'startedAt', null, 'finishedAt', null, 'error', null)
         ),
         '[{"name":"thumb"},{"name":"medium"},{"name":"large"}]'::jsonb,
         t, t, t + interval '450 ms'
       FROM generate_series($2::int, $3::int) AS i,
         LATERAL (SELECT now() AT TIME ZONE 'UTC' - interval '1 day' + i * interval '1 ms' AS t) AS at`,
      [TENANT, from, to],
    );
  }
  await pool.query(`ANALYZE "File"`);
}

async function runExport(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ seconds: number; peakRssMB: number; stdout: string }> {
  const run = await runIntakeCli(env, ['export', ...args]);
  return { seconds: run.ms / 1000, peakRssMB: round(run.peakRssBytes / 1024 / 1024, 1), stdout: run.stdout };
}

export async function measureExport(options: {
  pool: pg.Pool;
  env: NodeJS.ProcessEnv;
  rowCounts: readonly number[];
  log: (line: string) => void;
}): Promise<ExportRun[]> {
  const out = mkdtempSync(join(os.tmpdir(), 'intake-bench-export-'));
  const runs: ExportRun[] = [];
  try {
    for (const rows of options.rowCounts) {
      options.log(`export: seeding ${rows} rows`);
      await seed(options.pool, rows);
      for (const [format, target] of [
        ['csv', 'file'],
        ['parquet', 'file'],
        ['parquet', 's3'],
      ] as const) {
        const path = join(out, `facts-${rows}.${format}`);
        const where = target === 'file' ? ['--out', path, '--force'] : ['--to-s3'];
        const run = await runExport(options.env, ['--tenant', TENANT, '--since', '2d', '--format', format, ...where]);
        const measured: ExportRun = {
          rows,
          format,
          target,
          seconds: round(run.seconds, 2),
          rowsPerSecond: Math.round(rows / run.seconds),
          peakRssMB: run.peakRssMB,
          bytes: target === 'file' ? statSync(path).size : null,
        };
        options.log(
          `export ${rows} rows ${format} to ${target}: ${measured.seconds} s, ${measured.rowsPerSecond} rows/s, peak RSS ${measured.peakRssMB} MB`,
        );
        runs.push(measured);
      }
    }
    await options.pool.query(`DELETE FROM "File" WHERE "tenantId" = $1`, [TENANT]);
    return runs;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
