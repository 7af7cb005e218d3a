import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/env';
import { metricsAccess } from '../lib/metrics-access';

export interface WorkerMetricsServer {
  /** e.g. http://127.0.0.1:9464/metrics */
  url: string;
  close(): Promise<void>;
}

/** A free loopback port for the Temporal SDK's own exporter, which only this process reads. */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * The worker's metrics endpoint (INTAKE_WORKER_METRICS_PORT): Intake's own series from `registry` and,
 * in the same answer, the Temporal SDK's, which its native exporter serves on a loopback port
 * (`sdkMetricsUrl`). One scrape target per worker, behind the same access rule as the API's /metrics.
 */
export async function startWorkerMetricsServer(options: {
  config: Config;
  registry: Registry;
  sdkMetricsUrl: string | undefined;
  log: Logger;
}): Promise<WorkerMetricsServer> {
  const { config, registry, sdkMetricsUrl, log } = options;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'Only GET /metrics is served here' } }));
      return;
    }
    const access = metricsAccess(config.metrics, req.headers.authorization);
    if (access !== 'allowed') {
      const status = access === 'unauthorized' ? 401 : 403;
      const message =
        access === 'unauthorized'
          ? 'Send Authorization: Bearer <INTAKE_METRICS_TOKEN>'
          : 'Metrics are closed in production until INTAKE_METRICS_TOKEN is set';
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: access, message } }));
      return;
    }
    void (async () => {
      const own = await registry.metrics();
      const sdk = sdkMetricsUrl ? await readSdkMetrics(sdkMetricsUrl, log) : '';
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(`${own}\n${sdk}`);
    })().catch((error: unknown) => {
      log.error({ err: error }, 'metrics scrape failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal_error', message: 'metrics scrape failed' } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metrics.workerPort, config.metrics.workerHost, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = ['0.0.0.0', '::'].includes(config.metrics.workerHost) ? '127.0.0.1' : config.metrics.workerHost;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The SDK's series; a failing native exporter must not cost the scrape Intake's own series. */
async function readSdkMetrics(url: string, log: Logger): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.text();
  } catch (error) {
    log.warn({ err: error }, 'could not read the Temporal SDK metrics');
    return '';
  }
}
