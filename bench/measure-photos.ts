import type pg from 'pg';
import type { IntakeClient } from '../api/client';
import { cpuByProcess, cpuMeter, perFile } from './cpu';
import { waitForOutcomes } from './measure-pipeline';
import { sampleRss } from './processes';
import { mapConcurrent, median, percentile, round } from './stats';

export interface PhotoPipelineRun {
  files: number;
  elapsedMs: number;
  filesPerSecond: number;
  notReady: number;
  /** Upload request sent → row READY, per file, with `uploadConcurrency` uploads in flight. */
  timeToReadyMs: { p50: number; p95: number; max: number };
  /** The worker process's peak resident set size during the run (sampled every 100 ms). */
  workerRssPeakMB: number;
  workerRssBeforeMB: number;
  cpuBusy: number;
  cpuMsPerFile: Record<string, number>;
}

/**
 * 12 MP photos through the API and Temporal until READY, as measurePipeline does for 1 MP, with each
 * file's time to READY and the worker's peak RSS beside the throughput: a photo's decode holds
 * 36 MB of pixels per resize slot (more while three renditions share it), so memory is the figure
 * that grows with megapixels, and the slots (twice the cores by default) multiply it.
 */
export async function measurePhotoPipeline(options: {
  client: IntakeClient;
  pool: pg.Pool;
  photos: readonly Buffer[];
  uploadConcurrency: number;
  label: string;
  workerPid: number;
  rssOfWorker: () => number;
  processes: () => Record<string, number>;
}): Promise<PhotoPipelineRun> {
  const { client, pool, photos, uploadConcurrency, label } = options;
  const rssBefore = options.rssOfWorker();
  const rss = sampleRss(options.workerPid, 100);
  const cpu = cpuMeter();
  const perProcess = cpuByProcess(options.processes);
  const startedAt = Date.now();
  const sent = new Map<string, number>();
  const ids = await mapConcurrent(photos, uploadConcurrency, async (bytes, i) => {
    const at = Date.now();
    const accepted = await client.uploadFile(bytes, {
      filename: `${label}-${i}.jpg`,
      contentType: 'image/jpeg',
      mode: 'raw',
    });
    sent.set(accepted.id, at);
    return accepted.id;
  });
  const rows = await waitForOutcomes(pool, ids, { intervalMs: 100, timeoutMs: 900_000 });
  const cpuBusy = cpu.stop();
  const cpuSeconds = perProcess.stop();
  const { peak } = rss.stop();
  const finishedAt = Math.max(...rows.map((r) => r.updatedAtMs));
  const elapsedMs = finishedAt - startedAt;
  const times = rows.map((r) => r.updatedAtMs - (sent.get(r.id) ?? startedAt));
  return {
    files: photos.length,
    elapsedMs,
    filesPerSecond: photos.length / (elapsedMs / 1000),
    notReady: rows.filter((r) => r.status !== 'READY').length,
    timeToReadyMs: {
      p50: Math.round(median(times)),
      p95: Math.round(percentile(times, 95)),
      max: Math.round(Math.max(...times)),
    },
    workerRssPeakMB: round(peak / 2 ** 20, 1),
    workerRssBeforeMB: round(rssBefore / 2 ** 20, 1),
    cpuBusy,
    cpuMsPerFile: perFile(cpuSeconds, photos.length),
  };
}
