import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/*
 * Intake's own Prometheus metrics, one registry per process. Every label takes values from a short,
 * fixed list (steps, statuses, verdicts, results, reasons, sources, dependencies) or a tenant id, which
 * an operator creates: never a file id, filename or URL, so a series count cannot grow with uploads.
 */

/**
 * Where an accepted upload came in: POST /v1/files, a file of POST /v1/batches, a presigned direct
 * upload's complete, a finished tus upload (all counted by the API), or a Kafka message (counted by the
 * ingest worker, on its own endpoint).
 */
export const UPLOAD_SOURCES = ['http', 'batch', 'presigned', 'tus', 'kafka'] as const;
export type UploadSource = (typeof UPLOAD_SOURCES)[number];

/** The dependencies /readyz checks, as the `dependency` label names them. */
export const DEPENDENCIES = ['temporal', 's3', 'postgres', 'clamd'] as const;
export type DependencyName = (typeof DEPENDENCIES)[number];

/** A fresh registry with Node's default process metrics (CPU, memory, event loop, GC). */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Seconds buckets for HTTP requests: 5 ms to 60 s (a long-poll GET waits up to 30 s). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds buckets for pipeline steps: a local validate takes milliseconds, a large scan minutes. */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The accepted-uploads and bytes counters, the same series on the API's endpoint and the ingest
 * worker's (Prometheus sums them across targets); each process counts the sources it accepts.
 */
function createUploadCounters(registry: Registry) {
  const uploadsAccepted = new Counter({
    name: 'intake_uploads_accepted_total',
    help: 'Uploads accepted (bytes stored, row written, workflow started), by tenant and source',
    labelNames: ['tenant', 'source'] as const,
    registers: [registry],
  });
  const uploadBytes = new Counter({
    name: 'intake_upload_bytes_total',
    help: 'Bytes of accepted uploads',
    registers: [registry],
  });
  return (tenant: string, source: UploadSource, bytes: number, files = 1): void => {
    uploadsAccepted.inc({ tenant, source }, files);
    uploadBytes.inc(bytes);
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** The API's metrics, registered on `registry`. */
export function createApiMetrics(registry: Registry) {
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests served by the API, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const countUpload = createUploadCounters(registry);
  const dependencyUp = new Gauge({
    name: 'intake_dependency_up',
    help: '1 when the dependency answered its readiness check at the last scrape or /readyz, else 0',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
  return {
    registry,
    observeRequest(method: string, route: string, status: number, seconds: number): void {
      requestDuration.observe({ method, route, status: String(status) }, seconds);
    },
    uploadAccepted: countUpload,
    dependencyChecked(dependency: DependencyName, up: boolean): void {
      dependencyUp.set({ dependency }, up ? 1 : 0);
    },
  };
}

/** How one activity attempt ended: done, failed for good (a business failure), or to be retried. */
export type StepOutcome = 'ok' | 'failed' | 'retry';

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** A worker's own metrics (beside the Temporal SDK's), registered on `registry`. */
export function createWorkerMetrics(registry: Registry) {
  const stepDuration = new Histogram({
    name: 'intake_step_duration_seconds',
    help: 'Run time of each activity attempt, by pipeline step and how the attempt ended',
    labelNames: ['step', 'outcome'] as const,
    buckets: STEP_BUCKETS,
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'intake_outcomes_total',
    help: 'Uploads that reached an outcome, by status (READY, REJECTED, INFECTED, FAILED)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const timeToOutcome = new Histogram({
    name: 'intake_time_to_outcome_seconds',
    help: 'From upload accepted to its outcome recorded (time-to-READY for READY), by status',
    labelNames: ['status'] as const,
    buckets: STEP_BUCKETS,
    registers: [registry],
  });
  const scanVerdicts = new Counter({
    name: 'intake_scan_verdicts_total',
    help: 'Virus scan verdicts, by verdict (clean, infected)',
    labelNames: ['verdict'] as const,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'intake_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by result (delivered, failed, rejected, gone, refused, abandoned)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const countUpload = createUploadCounters(registry);
  const retentionDeletions = new Counter({
    name: 'intake_retention_deletions_total',
    help: 'Files whose artifacts were deleted, by reason (expired, requested)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return {
    registry,
    observeStep(step: string, outcome: StepOutcome, seconds: number): void {
      stepDuration.observe({ step, outcome }, seconds);
    },
    outcomeReached(status: string, secondsSinceAccepted: number): void {
      outcomes.inc({ status });
      timeToOutcome.observe({ status }, secondsSinceAccepted);
    },
    scanVerdict(verdict: 'clean' | 'infected'): void {
      scanVerdicts.inc({ verdict });
    },
    webhookAttempt(result: string): void {
      webhookDeliveries.inc({ result });
    },
    deleted(reason: string): void {
      retentionDeletions.inc({ reason });
    },
    uploadAccepted(tenant: string, source: Extract<UploadSource, 'kafka'>, bytes: number): void {
      countUpload(tenant, source, bytes);
    },
  };
}
