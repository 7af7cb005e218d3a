import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../infra/free-port';
import { startNodeEntry, waitUntilReady, type ServiceProcess } from '../../infra/service-process';

/*
 * The API and one worker as their own processes, started as `npm run api` / `npm run worker` start
 * them: the OpenTelemetry SDK and the Temporal runtime are per process, so what they export and serve
 * is seen only from outside, as Prometheus and a collector see it.
 */

export interface IntakeProcesses {
  apiUrl: string;
  /** The worker's own metrics endpoint (INTAKE_WORKER_METRICS_PORT). */
  workerMetricsUrl: string;
  logDir: string;
  stop(): Promise<void>;
}

/** Starts both against the shared test stack (process.env), with `env` on top for each. */
export async function startIntakeProcesses(options: {
  env: NodeJS.ProcessEnv;
  apiEnv?: NodeJS.ProcessEnv;
  workerEnv?: NodeJS.ProcessEnv;
}): Promise<IntakeProcesses> {
  const logDir = mkdtempSync(join(tmpdir(), 'intake-processes-'));
  const [apiPort, metricsPort] = [await freePort(), await freePort()];
  const base = { ...process.env, INTAKE_LOG_LEVEL: 'info', INTAKE_CODEC_PORT: '0', ...options.env };
  const children: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => child.stop(20_000)));
  };
  try {
    const workerLog = join(logDir, 'worker.log');
    const worker = startNodeEntry(
      'worker',
      'workers/main.ts',
      { ...base, INTAKE_WORKER_KIND: 'all', INTAKE_WORKER_METRICS_PORT: String(metricsPort), ...options.workerEnv },
      workerLog,
    );
    children.push(worker);
    const apiLog = join(logDir, 'api.log');
    const api = startNodeEntry(
      'api',
      'api/server.ts',
      { ...base, INTAKE_PORT: String(apiPort), INTAKE_HOST: '127.0.0.1', ...options.apiEnv },
      apiLog,
    );
    children.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await Promise.all([
      waitUntilReady({
        name: 'the worker',
        process: worker,
        logFile: workerLog,
        timeoutMs: 180_000,
        intervalMs: 250,
        check: async () => readFileSync(workerLog, 'utf8').includes('workers running'),
      }),
      waitUntilReady({
        name: 'the API',
        process: api,
        logFile: apiLog,
        timeoutMs: 120_000,
        intervalMs: 250,
        check: async () => (await fetch(`${apiUrl}/readyz`)).status === 200,
      }),
    ]);
    return { apiUrl, workerMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, logDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
