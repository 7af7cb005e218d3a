import { pathToFileURL } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { State } from '@temporalio/worker';
import pino from 'pino';
import type { Logger } from 'pino';
import { createActivities } from '../activities/create-activities';
import { createBackupActivities } from '../activities/backup-database';
import { createSweeperActivities } from '../activities/sweep-orphans';
import { loadConfig } from '../config/env';
import type { Config } from '../config/env';
import { createClamdScanner } from '../lib/clamd-scanner';
import { kafkaEventSink } from '../lib/kafka-event-sink';
import { createS3Client } from '../lib/s3-client';
import { dataConverterFor } from '../lib/data-converter';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { tracingClientInterceptors } from '../lib/temporal-tracing';
import { traceLogFields } from '../lib/tracing';
import { createDb } from '../prisma/db';
import { createWorkers, runWorkers } from './create-worker';
import type { WorkerKind } from './create-worker';
import { startHealthServer } from './health-server';
import { ensureBackupSchedule } from './backup-schedule';
import { ensureSweeperSchedule } from './sweeper-schedule';
import { startUploadsConsumer } from './uploads-consumer';
import { startWorkerObservability, type WorkerObservability } from './observability';

/** Connects to Temporal the way config.temporal says: plain, TLS (optionally mTLS) or API key. */
export function connectToTemporal(temporal: Config['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(temporal));
}

export interface RunningWorkers {
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  /** Asks the workers to drain in-flight tasks (bounded by the grace time) and stop. */
  stop(): Promise<void>;
  /** Each worker's state, for the health endpoint. */
  states(): State[];
}

/**
 * Builds the real activities and runs the workers of `kind`, and the uploads topic's consumer for
 * `ingest` (and `all`, unless KAFKA_INGEST=false). Used by `npm run worker`.
 */
export async function startWorkers(
  config: Config,
  log: Logger,
  kind: WorkerKind = config.worker.kind,
  observability: WorkerObservability = {},
): Promise<RunningWorkers> {
  const connection = await connectToTemporal(config.temporal);
  const db = createDb(config.databaseUrl);
  const s3 = createS3Client(config.s3);
  const events = kafkaEventSink(config.kafka);
  const activities = createActivities({
    config,
    s3,
    db,
    scanner: createClamdScanner(config.clamd),
    log: log.child({ component: 'activities' }),
    events,
    metrics: observability.metrics,
  });
  // The worker's own connection also serves the client the sweeper uses to describe and start workflows.
  const dataConverter = dataConverterFor(config);
  const temporal = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter,
    interceptors: { workflow: tracingClientInterceptors() },
  });
  const runsGeneral = kind === 'general' || kind === 'all';
  const workers = await createWorkers({
    connection,
    namespace: config.temporal.namespace,
    dataConverter,
    activities,
    sweeperActivities: createSweeperActivities({
      config,
      s3,
      db,
      temporal,
      log: log.child({ component: 'sweeper' }),
    }),
    backupActivities: createBackupActivities({ config, s3, db, log: log.child({ component: 'backup' }) }),
    kind,
    resizeConcurrency: config.worker.resizeConcurrency,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    tracing: observability.tracing,
    metrics: observability.metrics,
  });
  const runsIngest = kind === 'ingest' || (kind === 'all' && config.kafka.ingestInAllWorker);
  const ingest = runsIngest
    ? await startUploadsConsumer({
        config,
        s3,
        db,
        temporal,
        log: log.child({ component: 'ingest' }),
        ...(observability.metrics ? { metrics: observability.metrics } : {}),
      })
    : undefined;
  if (runsGeneral) {
    try {
      await ensureSweeperSchedule(temporal, log);
    } catch (error) {
      // The sweeper is a safety net, not the upload path: say so loudly but keep processing uploads.
      log.error({ err: error }, 'could not create the sweeper schedule; orphans will not be cleaned up');
    }
    try {
      await ensureBackupSchedule(temporal, config.backup.cron, log);
    } catch (error) {
      log.error({ err: error }, 'could not create the backup schedule; no scheduled backups will run');
    }
  }
  log.info(
    {
      kind,
      namespace: config.temporal.namespace,
      address: config.temporal.address,
      taskQueues: workers.map((w) => w.options.taskQueue),
      ...(ingest ? { ingest: config.kafka.topics.uploads } : {}),
    },
    'workers running',
  );
  // The consumer counts for the health endpoint like a worker: an `ingest` process has no other.
  let ingestState: State = 'RUNNING';
  ingest?.done.then(
    () => (ingestState = 'STOPPED'),
    () => (ingestState = 'FAILED'),
  );
  const done = Promise.all([
    // A worker that fails takes the consumer along: the process is restarted whole.
    runWorkers(workers).catch(async (error: unknown) => {
      await ingest?.stop();
      throw error;
    }),
    ingest?.done,
  ])
    .then(() => undefined)
    .finally(async () => {
      await Promise.allSettled([connection.close(), db.$disconnect(), events.close()]);
      s3.destroy();
      log.info('workers stopped');
    });
  return {
    done,
    async stop() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await ingest?.stop();
      await done;
    },
    states: () => [...workers.map((worker) => worker.getState()), ...(ingest ? [ingestState] : [])],
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino({ level: config.logLevel, base: { service: 'intake-worker' }, mixin: traceLogFields });
  const observability = await startWorkerObservability(config, log);
  const running = await startWorkers(config, log, config.worker.kind, observability);
  const health =
    config.worker.healthPort === undefined
      ? undefined
      : await startHealthServer({ port: config.worker.healthPort, states: running.states });
  if (health) log.info({ url: health.url }, 'worker health endpoint listening (/healthz, /readyz)');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down: draining in-flight tasks');
      void running.stop();
    });
  }
  await running.done;
  await health?.close();
  // Spans still buffered are sent before the process exits.
  await observability.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
