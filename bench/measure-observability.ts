import { join } from 'node:path';
import type pg from 'pg';
import { createIntakeClient } from '../api/client';
import { freePort } from '../infra/free-port';
import { startOtlpReceiver } from '../infra/otlp-receiver';
import { measurePipeline, type PipelineRun } from './measure-pipeline';
import { startApiProcess, startWorkerProcess } from './processes';
import { median, round } from './stats';

/*
 * What tracing and metrics cost the pipeline: the same 1b throughput run (API + one `all` worker, as
 * processes) with observability on and off, alternating on/off/off/on… so a drift of the shared host
 * hits both sides alike. "On" is production's: spans exported over OTLP/HTTP protobuf to a receiver
 * in this process, and both metrics endpoints scraped every 5 s (three times Prometheus' default
 * rate). "Off" is OTEL_SDK_DISABLED=true and INTAKE_METRICS=false: no spans, no interceptors, no
 * registry, no SDK exporter.
 */

export interface ObservabilityRun {
  on: boolean;
  filesPerSecond: number;
  cpuBusy: number;
  scrapes: number;
  spans: number;
  /** CPU ms per file of the API and the worker: the cost itself, less sensitive to other load than files/s. */
  appCpuMsPerFile: number;
}

export interface ObservabilitySummary {
  onFilesPerSecond: number;
  offFilesPerSecond: number;
  /** on / off: the share of throughput observability keeps (target ≥ 0.97). */
  ratio: number;
  /** off / on of the API's and worker's CPU ms per file: the same share, measured by CPU time. */
  cpuRatio: number;
  runs: ObservabilityRun[];
}

const METRICS_TOKEN = 'bench-metrics-token-0123456789';

export async function measureObservability(options: {
  env: NodeJS.ProcessEnv;
  apiKey: string;
  images: readonly Buffer[];
  pool: pg.Pool;
  uploadConcurrency: number;
  repetitions: number;
  logDir: string;
  processes: () => Record<string, number>;
  log: (line: string) => void;
}): Promise<ObservabilitySummary> {
  const otlp = await startOtlpReceiver();
  const runs: ObservabilityRun[] = [];
  try {
    const order = Array.from({ length: options.repetitions * 2 }, (_, i) =>
      i % 4 === 0 || i % 4 === 3 ? false : true,
    );
    for (const [i, on] of order.entries()) {
      const variant: NodeJS.ProcessEnv = on
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
            INTAKE_METRICS_TOKEN: METRICS_TOKEN,
          }
        : { OTEL_SDK_DISABLED: 'true', INTAKE_METRICS: 'false' };
      const metricsPort = await freePort();
      const env = { ...options.env, ...variant, INTAKE_WORKER_METRICS_PORT: String(metricsPort) };
      const api = await startApiProcess(env, await freePort(), join(options.logDir, `api-observability-${i}.log`));
      const worker = await startWorkerProcess(env, 'all', options.logDir, {
        INTAKE_WORKER_METRICS_PORT: String(metricsPort),
      });
      const spansBefore = otlp.spans.length;
      let scrapes = 0;
      const scraper = on
        ? setInterval(() => {
            for (const url of [`${api.url}/metrics`, `http://127.0.0.1:${metricsPort}/metrics`]) {
              void fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
                .then((r) => r.text())
                .then(
                  () => scrapes++,
                  () => undefined,
                );
            }
          }, 5_000)
        : undefined;
      let run: PipelineRun;
      try {
        run = await measurePipeline({
          client: createIntakeClient({ baseUrl: api.url, apiKey: options.apiKey }),
          pool: options.pool,
          images: options.images,
          uploadConcurrency: options.uploadConcurrency,
          label: `observability-${on ? 'on' : 'off'}-${i}`,
          processes: () => ({ ...options.processes(), api: api.process.pid, worker1: worker.pid }),
        });
      } finally {
        clearInterval(scraper);
        await Promise.all([worker.stop(20_000), api.process.stop(20_000)]);
      }
      if (run.notReady > 0) throw new Error(`${run.notReady} uploads did not end READY`);
      // Counted once both processes stopped, so the spans they flushed on shutdown are this run's.
      const spans = otlp.spans.length - spansBefore;
      const appCpuMsPerFile = Math.round((run.cpuMsPerFile.api ?? 0) + (run.cpuMsPerFile.worker1 ?? 0));
      runs.push({
        on,
        filesPerSecond: round(run.filesPerSecond),
        cpuBusy: round(run.cpuBusy),
        scrapes,
        spans,
        appCpuMsPerFile,
      });
      options.log(
        `observability ${on ? 'on ' : 'off'} #${i + 1}: ${run.filesPerSecond.toFixed(2)} files/s, API+worker ${appCpuMsPerFile} CPU ms/file${on ? ` (${spans} spans, ${scrapes} scrapes)` : ''}`,
      );
    }
  } finally {
    await otlp.close();
  }
  const onFilesPerSecond = round(median(runs.filter((r) => r.on).map((r) => r.filesPerSecond)));
  const offFilesPerSecond = round(median(runs.filter((r) => !r.on).map((r) => r.filesPerSecond)));
  const cpu = (on: boolean) => median(runs.filter((r) => r.on === on).map((r) => r.appCpuMsPerFile));
  return {
    onFilesPerSecond,
    offFilesPerSecond,
    ratio: round(onFilesPerSecond / offFilesPerSecond),
    cpuRatio: round(cpu(false) / cpu(true)),
    runs,
  };
}
