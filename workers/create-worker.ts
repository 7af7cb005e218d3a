import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { DataConverter, Duration } from '@temporalio/common';
import { failureConverterPath } from '../lib/data-converter';
import type { NativeConnection, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { BackupActivities, IntakeActivities, SweeperActivities } from '../activities/types';
import type { WorkerMetrics } from '../lib/metrics';
import { tracingActivityInterceptor, WORKFLOW_TRACING_MODULES, workflowTracingSinks } from '../lib/temporal-tracing';
import { DISABLED_TRACING, type Tracing } from '../lib/tracing';
import { reportAttempts } from './report-attempts';
import { stepMetrics } from './step-metrics';
import { GENERAL_TASK_QUEUE, MEDIA_TASK_QUEUE } from '../common/task-queues';

/** `ingest` runs no Temporal worker, only the uploads topic's consumer (workers/uploads-consumer.ts). */
export type WorkerKind = 'general' | 'media' | 'all' | 'ingest';

/**
 * How long a stopping worker lets in-flight tasks finish before cancelling them; a deployment's grace
 * period before SIGKILL must be longer (deploy/helm/intake: terminationGracePeriodSeconds).
 */
export const SHUTDOWN_GRACE_MS = 30_000;

/** Resolved from this file, not the working directory, so any entry point (tsx, vitest) finds it. */
export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

const bundles = new Map<boolean, Promise<WorkflowBundleWithSourceMap>>();

/**
 * Bundles the workflow code once per process (webpack + swc, which compiles the .ts workflows of
 * this ESM package). Workers and replayers share the bundle instead of each paying a few seconds.
 * With `tracing` (the default, as production runs) the OpenTelemetry workflow interceptors are bundled
 * in; the replay test replays the committed histories with them.
 */
export function bundleWorkflows(tracing = true): Promise<WorkflowBundleWithSourceMap> {
  let bundle = bundles.get(tracing);
  if (!bundle) {
    // The failure converter runs inside the sandbox too, so it is bundled with the workflows.
    bundle = bundleWorkflowCode({
      workflowsPath,
      failureConverterPath,
      workflowInterceptorModules: tracing ? [...WORKFLOW_TRACING_MODULES] : [],
      logger: quietBundlerLogger,
    });
    bundles.set(tracing, bundle);
  }
  return bundle;
}

export interface CreateWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  /** intakeDataConverter: payload encryption and encoded failure messages (lib/data-converter.ts). */
  dataConverter: DataConverter;
  activities: IntakeActivities;
  /** The orphan sweeper's activities, run by the general worker next to sweepOrphansWorkflow. */
  sweeperActivities?: SweeperActivities;
  /** The database backup's activities, run by the general worker next to backupDatabaseWorkflow. */
  backupActivities?: BackupActivities;
  kind: WorkerKind;
  /** Concurrent renditions per media worker; defaults to twice the number of CPUs (see below). */
  resizeConcurrency?: number;
  /** Workflows the workflow worker keeps cached (INTAKE_MAX_CACHED_WORKFLOWS); undefined: the SDK's default. */
  maxCachedWorkflows?: number;
  /** Grace period for in-flight tasks on shutdown. */
  shutdownGraceTime?: Duration;
  /** This process's tracing (lib/tracing.ts); without it nothing is traced. */
  tracing?: Tracing;
  /** This process's worker metrics; without them no step is timed. */
  metrics?: WorkerMetrics;
}

/**
 * Builds the workers for one worker kind: `general` runs the workflows and every I/O-bound activity on
 * GENERAL_TASK_QUEUE; `media` runs only makeRenditions on MEDIA_TASK_QUEUE with its own concurrency
 * limit, so resize capacity scales separately; `all` is both, for development and small deployments;
 * `ingest` is neither (none).
 */
export async function createWorkers(options: CreateWorkersOptions): Promise<Worker[]> {
  const { connection, namespace, activities, kind } = options;
  const { makeRenditions, ...generalActivities } = activities;
  const tracing = options.tracing ?? DISABLED_TRACING;
  const shared = {
    connection,
    namespace,
    dataConverter: options.dataConverter,
    interceptors: {
      // Tracing outermost, so the activity's span is active in the others and in the activity's logs.
      activity: [
        ...(tracing.enabled ? [tracingActivityInterceptor] : []),
        ...(options.metrics ? [stepMetrics(options.metrics)] : []),
        reportAttempts,
      ],
    },
    ...(tracing.enabled ? { sinks: workflowTracingSinks(tracing) } : {}),
    shutdownGraceTime: options.shutdownGraceTime ?? SHUTDOWN_GRACE_MS,
  };
  const workers: Worker[] = [];
  if (kind === 'general' || kind === 'all') {
    workers.push(
      await Worker.create({
        ...shared,
        taskQueue: GENERAL_TASK_QUEUE,
        workflowBundle: await bundleWorkflows(tracing.enabled),
        maxCachedWorkflows: options.maxCachedWorkflows,
        activities: { ...generalActivities, ...options.sweeperActivities, ...options.backupActivities },
      }),
    );
  }
  if (kind === 'media' || kind === 'all') {
    workers.push(
      await Worker.create({
        ...shared,
        taskQueue: MEDIA_TASK_QUEUE,
        activities: { makeRenditions },
        // Twice the cores: each resize also waits on S3 (download, three uploads), and one slot per core
        // left cores idle meanwhile (measured by `npm run bench`; figures in README's benchmark section).
        maxConcurrentActivityTaskExecutions: options.resizeConcurrency ?? 2 * os.availableParallelism(),
      }),
    );
  }
  return workers;
}

/** Runs workers until all have shut down; if one fails, the others are shut down too. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } catch (error) {
    for (const worker of workers) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
    throw error;
  }
}

// The bundler logs every module at info level; only its warnings are worth seeing.
const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
