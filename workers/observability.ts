import type { Logger } from 'pino';
import type { Config } from '../config/env';
import { createRegistry, createWorkerMetrics, type WorkerMetrics } from '../lib/metrics';
import { startTracing, type Tracing } from '../lib/tracing';
import { installRuntime } from './temporal-runtime';
import { freeLoopbackPort, startWorkerMetricsServer, type WorkerMetricsServer } from './metrics-server';

/** What a worker process traces and counts with; startWorkers runs without either in tests. */
export interface WorkerObservability {
  tracing?: Tracing;
  metrics?: WorkerMetrics;
}

/**
 * A worker process's tracing, Temporal runtime and metrics endpoint, in the order they must start:
 * the tracer provider and the runtime (with its metrics exporter) before any connection exists.
 */
export async function startWorkerObservability(
  config: Config,
  log: Logger,
): Promise<WorkerObservability & { metricsUrl?: string; close(): Promise<void> }> {
  const tracing = startTracing(config.telemetry, 'intake-worker');
  if (!config.metrics.enabled) {
    installRuntime(log);
    return { tracing, close: () => tracing.shutdown() };
  }
  const sdkPort = await freeLoopbackPort();
  installRuntime(log, `127.0.0.1:${sdkPort}`);
  const registry = createRegistry();
  const metrics = createWorkerMetrics(registry);
  let server: WorkerMetricsServer | undefined;
  try {
    server = await startWorkerMetricsServer({
      config,
      registry,
      sdkMetricsUrl: `http://127.0.0.1:${sdkPort}/metrics`,
      log,
    });
    log.info({ metricsUrl: server.url }, 'worker metrics listening');
  } catch (error) {
    // Metrics are the operator's view, not the upload path (e.g. a second worker on one host with the
    // same port): say so loudly and keep processing uploads.
    log.error(
      { err: error, port: config.metrics.workerPort },
      'could not serve worker metrics; set INTAKE_WORKER_METRICS_PORT to a free port',
    );
  }
  return {
    tracing,
    metrics,
    metricsUrl: server?.url,
    close: async () => {
      await Promise.allSettled([server?.close(), tracing.shutdown()]);
    },
  };
}
