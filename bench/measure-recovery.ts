import pg from 'pg';
import type { IntakeClient } from '../api/client';
import { runIntakeCli } from './intake-cli';
import { seedFiles } from './seed-files';
import { waitForOutcomes } from './measure-pipeline';

/*
 * Issue 15's RPO/RTO figures: disaster recovery at `rows` File rows, through the operator's CLI as the
 * runbook (docs/disaster-recovery.md) has it, each command a fresh process timed from spawn to exit.
 *   1. seed-files.ts COPYs `rows` File rows (with their search vectors) and `before` real uploads become READY;
 *   2. `intake backup now`: the backup workflow streams pg_dump to S3 and verifies it with pg_restore --list;
 *   3. `after` more real uploads become READY: the rows the backup lacks;
 *   4. `intake backup restore <id> --into <empty database>`: restore, migrations, row counts;
 *   5. `intake reconcile` on the restored database: every upload workflow read, the `after` rows rebuilt.
 * RTO is restore + reconcile; the files' RPO with Temporal and S3 intact is zero when reconcile
 * rebuilds every upload made after the backup, which the run checks.
 */

export interface RecoveryResult {
  rows: number;
  seedMs: number;
  databaseBytes: number;
  /** `intake backup now`, spawn to exit. */
  backupMs: number;
  /** The backup activity alone (pg_dump to S3 and pg_restore --list), as the workflow recorded it. */
  backupActivityMs: number;
  backupBytes: number;
  restoreMs: number;
  restoredFileRows: number;
  reconcileMs: number;
  reconcile: { found: number; created: number; updated: number; unchanged: number; unreadable: number };
  /** Uploads after the backup that the restored and reconciled database lists READY. */
  rebuilt: number;
  uploadsAfterBackup: number;
  rtoMs: number;
}

/** `intake …args`: its stdout parsed as JSON, and how long it ran. */
async function timedCli<T>(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; out: T }> {
  const run = await runIntakeCli(env, args);
  return { ms: run.ms, out: JSON.parse(run.stdout) as T };
}

async function uploadReady(pool: pg.Pool, client: IntakeClient, label: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const accepted = await client.uploadFile(`${label} ${i} ${Date.now()}\n`, {
      filename: `${label}-${i}.txt`,
      contentType: 'text/plain',
      retention: '2h',
      mode: 'raw',
    });
    ids.push(accepted.id);
  }
  const outcomes = await waitForOutcomes(pool, ids, { intervalMs: 200, timeoutMs: 600_000 });
  const notReady = outcomes.filter((o) => o.status !== 'READY');
  if (notReady.length > 0) throw new Error(`recovery bench: ${notReady.length} ${label} uploads did not become READY`);
  return ids;
}

export async function measureRecovery(options: {
  pool: pg.Pool;
  client: IntakeClient;
  env: NodeJS.ProcessEnv;
  databaseUrl: string;
  rows: number;
  before: number;
  after: number;
  log: (line: string) => void;
}): Promise<RecoveryResult> {
  const { pool, client, env, log } = options;
  const seeded = await seedFiles({
    pool,
    total: options.rows,
    tenants: 10,
    big: 'recovery',
    bigFiles: Math.floor(options.rows / 2),
    seed: 15,
    tenantPrefix: 'recovery',
    log,
  });
  log(`recovery: seeded ${seeded.rows} rows in ${(seeded.totalMs / 1000).toFixed(1)} s`);
  await uploadReady(pool, client, 'before-backup', options.before);
  const { rows: size } = await pool.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');

  const backup = await timedCli<{ id: string; sizeBytes: number; durationMs: number }>(['backup', 'now'], env);
  log(`recovery: backup ${backup.out.id} in ${(backup.ms / 1000).toFixed(1)} s (${backup.out.sizeBytes} B)`);

  const after = await uploadReady(pool, client, 'after-backup', options.after);

  const target = `recovery_${Date.now().toString(36)}`;
  await pool.query(`CREATE DATABASE ${target}`);
  const targetUrl = Object.assign(new URL(options.databaseUrl), { pathname: `/${target}` }).toString();
  const restore = await timedCli<{ rowCounts: Record<string, number> }>(
    ['backup', 'restore', backup.out.id, '--into', targetUrl],
    env,
  );
  log(`recovery: restore in ${(restore.ms / 1000).toFixed(1)} s (${restore.out.rowCounts.File} File rows)`);

  const reconciled = await timedCli<{
    found: number;
    created: number;
    updated: number;
    unchanged: number;
    unreadable: unknown[];
  }>(['reconcile'], { ...env, DATABASE_URL: targetUrl });
  log(
    `recovery: reconcile in ${(reconciled.ms / 1000).toFixed(1)} s (found ${reconciled.out.found}, created ${reconciled.out.created})`,
  );

  const check = new pg.Client({ connectionString: targetUrl });
  await check.connect();
  let rebuilt: number;
  try {
    const { rows } = await check.query<{ n: string }>(
      `SELECT count(*) AS n FROM "File" WHERE id = ANY($1) AND status = 'READY'`,
      [after],
    );
    rebuilt = Number(rows[0]!.n);
  } finally {
    await check.end();
  }
  await pool.query(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
  // The seeded rows go, so a later measurement (search) counts only its own; no one waits on their NOTIFYs.
  const cleanup = await pool.connect();
  try {
    await cleanup.query(`SET session_replication_role = replica`);
    await cleanup.query(`DELETE FROM "File" WHERE "tenantId" = ANY($1)`, [seeded.tenantIds]);
  } finally {
    await cleanup.query(`RESET session_replication_role`).catch(() => undefined);
    cleanup.release();
  }
  if (rebuilt !== after.length) throw new Error(`recovery bench: reconcile rebuilt ${rebuilt} of ${after.length}`);

  return {
    rows: restore.out.rowCounts.File ?? 0,
    seedMs: Math.round(seeded.totalMs),
    databaseBytes: Number(size[0]!.bytes),
    backupMs: Math.round(backup.ms),
    backupActivityMs: backup.out.durationMs,
    backupBytes: Number(backup.out.sizeBytes),
    restoreMs: Math.round(restore.ms),
    restoredFileRows: restore.out.rowCounts.File ?? 0,
    reconcileMs: Math.round(reconciled.ms),
    reconcile: {
      found: reconciled.out.found,
      created: reconciled.out.created,
      updated: reconciled.out.updated,
      unchanged: reconciled.out.unchanged,
      unreadable: reconciled.out.unreadable.length,
    },
    rebuilt,
    uploadsAfterBackup: after.length,
    rtoMs: Math.round(restore.ms + reconciled.ms),
  };
}
