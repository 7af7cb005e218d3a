import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const migrationsDir = path.join(root, 'prisma', 'migrations');
const prismaCli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');

// One application-wide advisory lock key, so concurrent callers (API and workers starting together,
// parallel test files) run `migrate deploy` one at a time; the rest then find nothing pending.
const MIGRATION_LOCK_KEY = 7_240_431_001;

/** Migration folder names in prisma/migrations, oldest first (Prisma orders them by name). */
export function migrationNames(): string[] {
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(migrationsDir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort();
}

async function pendingMigrations(client: pg.Client): Promise<string[]> {
  const table = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS "exists"`,
  );
  const applied = new Set<string>();
  if (table.rows[0]?.exists) {
    const rows = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    for (const row of rows.rows) applied.add(row.migration_name);
  }
  return migrationNames().filter((name) => !applied.has(name));
}

async function runMigrateDeploy(databaseUrl: string): Promise<void> {
  try {
    await execFileAsync(process.execPath, [prismaCli, 'migrate', 'deploy'], {
      cwd: root,
      timeout: 180_000,
      maxBuffer: 10 * 1024 * 1024,
      env: {
        ...process.env,
        // prisma.config.ts builds its driver adapter from DATABASE_URL (through loadConfig).
        DATABASE_URL: databaseUrl,
        CHECKPOINT_DISABLE: '1',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    const output = `${stdout ?? ''}${stderr ?? ''}`.trim();
    throw new Error(`prisma migrate deploy failed:\n${output || (error as Error).message}`, { cause: error });
  }
}

async function migrate(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    // Fast path: nothing to do costs one query, not a Prisma CLI start-up.
    if ((await pendingMigrations(client)).length === 0) return;
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      if ((await pendingMigrations(client)).length === 0) return;
      await runMigrateDeploy(databaseUrl);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

const inFlight = new Map<string, Promise<void>>();

/**
 * Applies every pending migration in prisma/migrations with `prisma migrate deploy` (the Wasm schema
 * engine configured in prisma.config.ts: no native engine, works offline). Idempotent; callers in one
 * process share a run and callers in different processes serialise on a Postgres advisory lock.
 */
export function applyMigrations(databaseUrl: string): Promise<void> {
  let run = inFlight.get(databaseUrl);
  if (!run) {
    run = migrate(databaseUrl).finally(() => inFlight.delete(databaseUrl));
    inFlight.set(databaseUrl, run);
  }
  return run;
}
