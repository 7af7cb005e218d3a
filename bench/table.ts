import type { ExportRun } from './measure-export';
import type { ObservabilitySummary } from './measure-observability';
import type { OverheadSummary } from './measure-overhead';
import type { PipelineRun } from './measure-pipeline';
import type { PhotoPipelineRun } from './measure-photos';
import type { OpenWorkflowsResult } from './measure-scale';
import type { StormResult } from './measure-storm';
import type { WaitersResult } from './measure-waiters';
import type { SearchResult } from './measure-search';
import type { RecoveryResult } from './measure-recovery';
import type { RenditionsMeasurement } from './measure-renditions';

export interface ThroughputSummary {
  filesPerSecond: number;
  cpuBusy: number;
  cpuMsPerFile: Record<string, number>;
  runs: PipelineRun[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  machine: { cores: number; cpu: string; memoryGiB: number; platform: string };
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  limit?: {
    concurrency: number;
    filesPerSecond: number;
    cpuBusy: number;
    cpuMsPerFile: Record<string, number>;
    sweep: { concurrency: number; filesPerSecond: number; cpuBusy: number }[];
    runs: number[];
  };
  /** One worker process of kind `all`: the pipeline of measurement 1b. */
  pipeline?: ThroughputSummary;
  twoWorkers?: ThroughputSummary;
  /** A general worker process and a media (resize) worker process. */
  split?: ThroughputSummary;
  overhead?: OverheadSummary;
  streaming?: {
    bytes: number;
    apiRssGrowthMB: number;
    apiRssGrowthMaxMB: number;
    apiMBps: number;
    directMBps: number;
    /** lib-storage alone, same settings, in a fresh process: the floor for the API's growth. */
    directRssGrowthMB: number;
    ratio: number;
    runs: unknown;
  };
  status?: { requests: number; runningP50Ms: number; afterP50Ms: number; runningP95Ms: number; afterP95Ms: number };
  /** The same images through the uploads topic and through the API, alternating in one run. */
  kafka?: {
    http: ThroughputSummary;
    kafka: ThroughputSummary;
    ratio: number;
    ratioPerRun: number[];
    /** HTTP's CPU per file over Kafka's: above 1 when a file costs less CPU by message. */
    cpuPerFileRatio: number;
    lagRecovery: { messages: number; recoveryMs: number; messagesPerSecond: number };
  };
  /** Pipeline throughput with tracing and metrics on / off (bench/measure-observability.ts). */
  observability?: ObservabilitySummary;
  /** Issue 16: 12 MP photos (bench/measure-photos.ts). */
  photos?: {
    files: number;
    bytes: { min: number; max: number };
    limit: { concurrency: number; filesPerSecond: number; cpuMsPerFile: Record<string, number> };
    pipeline: PhotoPipelineRun;
    ratio: number;
    loadAverage: number[];
  };
  /** Issue 16: uploads waiting on their retention timers (bench/measure-open-workflows.ts). */
  openWorkflows?: OpenWorkflowsResult;
  /** Issue 16 item 1: long-polls that wake on change (bench/measure-waiters.ts). */
  waiters?: WaitersResult & { loadAverage: number[] };
  /** The same with event streams (`GET /v1/files/{id}/events`) on the feed that wakes on change. */
  streamWaiters?: WaitersResult & { loadAverage: number[] };
  /** Issue 16: a retention storm (bench/measure-storm.ts). */
  storm?: StormResult & { openAround: number; createdInMs?: number };
  /** Issue 15: `intake export` runs (bench/measure-export.ts). */
  export?: ExportRun[];
  /** Issue 16 item 2: GET /v1/files over a million seeded rows (bench/measure-search.ts). */
  search?: SearchResult;
  /** Issue 15: backup, restore and reconcile at 100k File rows (bench/measure-recovery.ts). */
  recovery?: RecoveryResult;
  /** CPU and bytes of AVIF renditions beside WebP (BENCH_ONLY=renditions). */
  renditions?: RenditionsMeasurement;
  targets?: Record<string, { figure: number; target: string; met: boolean }>;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** Fills results.targets and prints the table: each figure with its target beside it. */
export function printTable(results: BenchResults): void {
  const rows: [string, string, string, string][] = [];
  const targets: NonNullable<BenchResults['targets']> = {};
  const check = (name: string, figure: number, target: string, met: boolean) => {
    targets[name] = { figure, target, met };
    return met ? 'met' : 'NOT met';
  };
  const { limit, pipeline, twoWorkers, split, overhead, streaming, status, kafka, observability } = results;

  if (limit)
    rows.push([
      '1a in-process limit (activities called directly)',
      `${fmt(limit.filesPerSecond)} files/s at concurrency ${limit.concurrency}, CPU ${fmt(limit.cpuBusy * 100, 0)}%`,
      '',
      '',
    ]);
  if (pipeline)
    rows.push([
      '1b pipeline: API + Temporal, 1 worker process',
      `${fmt(pipeline.filesPerSecond)} files/s, CPU ${fmt(pipeline.cpuBusy * 100, 0)}%`,
      '',
      '',
    ]);
  if (limit && pipeline) {
    const ratio = pipeline.filesPerSecond / limit.filesPerSecond;
    rows.push([
      '1  throughput ratio pipeline / limit',
      fmt(ratio),
      '≥ 0.85',
      check('throughputRatio', Number(fmt(ratio)), '>= 0.85', ratio >= 0.85),
    ]);
    const l = limit.cpuMsPerFile;
    const p = pipeline.cpuMsPerFile;
    const workers = Object.entries(p)
      .filter(([name]) => name.startsWith('worker'))
      .reduce((sum, [, ms]) => sum + ms, 0);
    rows.push([
      '   CPU ms per file, limit: activities / everything',
      `${l.bench ?? 0} / ${l.total ?? 0} (other programs on the machine: ${l.other ?? 0})`,
      '',
      '',
    ]);
    rows.push([
      '   CPU ms per file, pipeline: worker / Temporal / API / everything',
      `${workers} / ${p.temporal ?? 0} / ${p.api ?? 0} / ${p.total ?? 0} (other programs: ${p.other ?? 0})`,
      '',
      '',
    ]);
    // Both runs saturate the CPU, so CPU time per file predicts the ratio without other programs' noise.
    if (l.total && p.total)
      rows.push(['   ratio by CPU time per file (limit / pipeline)', fmt(l.total / p.total), '', '']);
  }
  if (overhead) {
    rows.push([
      '2  orchestration overhead p50 / p95',
      `${fmt(overhead.p50Ms, 1)} / ${fmt(overhead.p95Ms, 1)} ms`,
      'p50 ≤ 30 ms',
      check('overheadP50Ms', overhead.p50Ms, '<= 30', overhead.p50Ms <= 30),
    ]);
    rows.push([
      '   (start→READY p50; activities p50; POST→202 p50; POST→READY p50)',
      `${fmt(overhead.workflowP50Ms, 0)}; ${fmt(overhead.activitiesP50Ms, 0)}; ${fmt(overhead.acceptP50Ms, 0)}; ${fmt(overhead.endToEndP50Ms, 0)} ms`,
      '',
      '',
    ]);
    rows.push([
      '   of the overhead p50: worker inside workflow tasks; activity dispatch',
      `${fmt(overhead.inWorkflowTasksP50Ms, 1)}; ${fmt(overhead.dispatchP50Ms, 1)} ms (${overhead.localActivitiesPerUpload} of ${overhead.activitiesPerUpload} activities local)`,
      '',
      '',
    ]);
  }
  if (observability) {
    rows.push([
      '6  pipeline with tracing + metrics on / off',
      `${fmt(observability.onFilesPerSecond)} / ${fmt(observability.offFilesPerSecond)} files/s = ${fmt(observability.ratio)}`,
      '≥ 0.97',
      check('observabilityRatio', observability.ratio, '>= 0.97', observability.ratio >= 0.97),
    ]);
    rows.push(['   by API + worker CPU time per file (off / on)', fmt(observability.cpuRatio), '', '']);
  }
  if (streaming) {
    const gib = fmt(streaming.bytes / 1024 ** 3, 2);
    rows.push([
      `3  ${gib} GiB through the API: API RSS growth`,
      `${fmt(streaming.apiRssGrowthMB, 1)} MB (max ${fmt(streaming.apiRssGrowthMaxMB, 1)})`,
      '≤ 64 MB',
      check('streamingRssGrowthMB', streaming.apiRssGrowthMaxMB, '<= 64', streaming.apiRssGrowthMaxMB <= 64),
    ]);
    rows.push([
      '   RSS growth of lib-storage alone (fresh process, same parts)',
      `${fmt(streaming.directRssGrowthMB, 1)} MB`,
      '',
      '',
    ]);
    rows.push([
      '   throughput via API / direct lib-storage',
      `${fmt(streaming.apiMBps, 0)} / ${fmt(streaming.directMBps, 0)} MB/s = ${fmt(streaming.ratio)}×`,
      '≥ 0.8×',
      check('streamingThroughputRatio', streaming.ratio, '>= 0.8', streaming.ratio >= 0.8),
    ]);
  }
  if (pipeline && twoWorkers) {
    rows.push([
      '4  2 worker processes / 1',
      `${fmt(twoWorkers.filesPerSecond)} / ${fmt(pipeline.filesPerSecond)} files/s = ${fmt(twoWorkers.filesPerSecond / pipeline.filesPerSecond)}×`,
      `explain (${results.machine.cores} cores)`,
      'report',
    ]);
  }
  if (pipeline && split) {
    rows.push([
      '4  resize in own process (general + media) / shared',
      `${fmt(split.filesPerSecond)} / ${fmt(pipeline.filesPerSecond)} files/s = ${fmt(split.filesPerSecond / pipeline.filesPerSecond)}×`,
      '',
      'report',
    ]);
  }
  if (status) {
    rows.push([
      '5  status TTFB p50: running (query) / after (Postgres)',
      `${fmt(status.runningP50Ms, 1)} / ${fmt(status.afterP50Ms, 1)} ms`,
      '',
      'report',
    ]);
  }
  if (kafka) {
    rows.push([
      '6  Kafka ingest / HTTP, same 1-MP JPEGs, same run',
      `${fmt(kafka.kafka.filesPerSecond)} / ${fmt(kafka.http.filesPerSecond)} files/s = ${fmt(kafka.ratio)}×`,
      '≥ 1.0',
      check('kafkaRatio', kafka.ratio, '≥ 1.0', kafka.ratio >= 1),
    ]);
    rows.push([
      '6  CPU per file, HTTP / Kafka (load-independent)',
      `${fmt(kafka.http.cpuMsPerFile.total ?? 0, 0)} / ${fmt(kafka.kafka.cpuMsPerFile.total ?? 0, 0)} ms = ${fmt(kafka.cpuPerFileRatio)}×`,
      '',
      'report',
    ]);
    rows.push([
      `6b consumer lag recovery, ${kafka.lagRecovery.messages}-message backlog`,
      `${fmt(kafka.lagRecovery.recoveryMs / 1000, 1)} s (${fmt(kafka.lagRecovery.messagesPerSecond, 0)} messages/s)`,
      '',
      'report',
    ]);
  }
  const { photos, openWorkflows: open, storm } = results;
  if (photos) {
    const p = photos.pipeline;
    rows.push([
      `7  12 MP photos: pipeline / limit (${photos.files} photos)`,
      `${fmt(p.filesPerSecond)} / ${fmt(photos.limit.filesPerSecond)} files/s = ${fmt(photos.ratio)}`,
      '≥ 0.9',
      check('photoRatio', photos.ratio, '>= 0.9', photos.ratio >= 0.9),
    ]);
    rows.push([
      '7  12 MP photos: time to READY p50 / p95',
      `${fmt(p.timeToReadyMs.p50 / 1000, 1)} / ${fmt(p.timeToReadyMs.p95 / 1000, 1)} s`,
      '',
      'report',
    ]);
    rows.push([
      '7  12 MP photos: worker RSS peak',
      `${fmt(p.workerRssPeakMB, 0)} MiB`,
      '≤ 1024 MiB',
      check('photoWorkerRss', p.workerRssPeakMB, '<= 1024 MiB', p.workerRssPeakMB <= 1024),
    ]);
  }
  if (open) {
    const worst = Math.max(open.ratios.getP95, open.ratios.queryP95, open.ratios.deleteP95);
    rows.push([
      `8  ${open.count} open workflows / empty: GET, query, DELETE p95`,
      `${fmt(open.ratios.getP95)}× / ${fmt(open.ratios.queryP95)}× / ${fmt(open.ratios.deleteP95)}×`,
      '≤ 1.5×',
      check('openWorkflowsLatency', worst, '<= 1.5', worst <= 1.5),
    ]);
    rows.push([
      '8  worker RSS, open / empty',
      `${fmt(open.loaded.workerRssMB, 0)} / ${fmt(open.empty.workerRssMB, 0)} MiB = ${fmt(open.ratios.workerRss)}×`,
      '≤ 1.5×',
      check('openWorkflowsRss', open.ratios.workerRss, '<= 1.5', open.ratios.workerRss <= 1.5),
    ]);
  }
  if (storm) {
    rows.push([
      `9  retention storm: ${storm.files} expiries, all deleted in`,
      `${fmt(storm.durationMs / 1000, 0)} s (${fmt(storm.filesPerSecond, 1)} files/s), ${storm.objectsLeft} objects left`,
      '≤ 600 s',
      check(
        'stormDuration',
        storm.durationMs / 1000,
        '<= 600 s',
        storm.durationMs <= 600_000 && storm.objectsLeft === 0,
      ),
    ]);
    rows.push([
      '9  status read p95 during storm / quiet',
      `${fmt(storm.stormReadP95Ms, 1)} / ${fmt(storm.quietReadP95Ms, 1)} ms = ${fmt(storm.readRatio)}×`,
      '< 2×',
      check('stormReadRatio', storm.readRatio, '< 2', storm.readRatio < 2),
    ]);
    rows.push([
      '9  uploads accepted during storm',
      `${storm.uploadsAccepted} / ${storm.uploadsSent}`,
      'all',
      check('stormUploads', storm.uploadsAccepted, 'all', storm.uploadsAccepted === storm.uploadsSent),
    ]);
  }
  const { search } = results;
  if (search) {
    for (const group of ['list', 'filter', 'search'] as const) {
      const { p50Ms, p95Ms } = search.groups[group];
      const worst = Math.max(...search.queries.filter((q) => q.group === group).map((q) => q.p95Ms));
      rows.push([
        `10 GET /v1/files ${group === 'search' ? 'q=' : group} p50 / p95 (${search.tenantFiles} files of ${search.seed.rows})`,
        `${fmt(p50Ms, 1)} / ${fmt(p95Ms, 1)} ms (worst query p95 ${fmt(worst, 1)} ms)`,
        '≤ 50 ms',
        check(`search${group[0]!.toUpperCase()}${group.slice(1)}P95Ms`, p95Ms, '<= 50 ms', p95Ms <= 50),
      ]);
    }
  }
  const { recovery } = results;
  if (recovery) {
    rows.push([
      `11 backup now, ${recovery.rows} File rows (${fmt(recovery.backupBytes / 1e6, 1)} MB archive)`,
      `${fmt(recovery.backupMs / 1000, 1)} s (pg_dump → S3 + verify ${fmt(recovery.backupActivityMs / 1000, 1)} s)`,
      'report',
      '',
    ]);
    rows.push([
      `11 RTO: restore + reconcile (${recovery.uploadsAfterBackup} uploads after the backup)`,
      `${fmt(recovery.restoreMs / 1000, 1)} + ${fmt(recovery.reconcileMs / 1000, 1)} s = ${fmt(recovery.rtoMs / 1000, 1)} s`,
      'report',
      '',
    ]);
    rows.push([
      '11 RPO of files: uploads after the backup rebuilt by reconcile',
      `${recovery.rebuilt} / ${recovery.uploadsAfterBackup}`,
      'all',
      check('recoveryRebuilt', recovery.rebuilt, 'all', recovery.rebuilt === recovery.uploadsAfterBackup),
    ]);
  }
  results.targets = targets;

  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...rows.map((r) => r[i]!.length), ['measurement', 'figure', 'target', ''][i]!.length),
  );
  const line = (r: readonly string[]) => r.map((cell, i) => cell.padEnd(widths[i]!)).join(' │ ');
  console.log('');
  console.log(
    `Intake benchmark — ${results.machine.cores} cores (${results.machine.cpu}), node ${results.versions.node}, temporal ${results.versions.temporalCli}`,
  );
  console.log(line(['measurement', 'figure', 'target', '']));
  console.log(widths.map((w) => '─'.repeat(w)).join('─┼─'));
  for (const row of rows) console.log(line(row));
  console.log('');
}
