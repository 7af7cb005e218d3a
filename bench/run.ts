// Over 300 lines on purpose: the benchmark's script, one phase after another, each short; splitting it
// would scatter the order the figures depend on.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { format } from 'prettier';
import { createActivities } from '../activities/create-activities';
import { loadConfig } from '../config/env';
import { freePort } from '../infra/free-port';
import type { ServiceProcess } from '../infra/service-process';
import { startStack, type Stack } from '../infra/stack';
import { REPO_ROOT } from '../infra/tools';
import { createIntakeClient } from '../api/client';
import { createClamdScanner } from '../lib/clamd-scanner';
import { createKafkaAdmin, createKafkaProducer } from '../lib/kafka-client';
import { dataConverterFor } from '../lib/data-converter';
import { createS3Client } from '../lib/s3-client';
import { createDb } from '../prisma/db';
import type { WorkerKind } from '../workers/create-worker';
import { makeJpegs } from './images';
import { measureOpenWorkflows, measureStormPart } from './measure-scale';
import { makePhotos } from './photos';
import { measureWaiters } from './measure-waiters';
import { measureSearch } from './measure-search';
import { measureRecovery } from './measure-recovery';
import { measurePhotoPipeline } from './measure-photos';
import { measureLimit, type LimitRun } from './measure-limit';
import { measureObservability } from './measure-observability';
import { measureRenditions, type RenditionsMeasurement } from './measure-renditions';
import { measureOverhead, summariseOverhead } from './measure-overhead';
import { measureExport } from './measure-export';
import { measureKafkaPipeline, measureLagRecovery } from './measure-kafka';
import { measurePipeline, waitForOutcomes, type PipelineRun } from './measure-pipeline';
import { measureStatusTtfb, waitForStep } from './measure-status';
import { uploadDirectInChild, uploadThroughApi, type StreamingRun } from './measure-streaming';
import { median, percentile as percentileOf, round } from './stats';
import { printTable, type BenchResults } from './table';
import { lowerPriority, rssOf, startApiProcess, startWorkerProcess } from './processes';
import { collectVersions } from './versions';

/*
 * `npm run bench`: starts its own stack in a temporary folder, the API and the workers as child
 * processes, runs the five measurements of issue 6 and prints them beside their targets. BENCH_QUICK=1
 * runs every measurement with smaller counts (a smoke run of a few minutes). BENCH_ONLY=limit,pipeline,kafka,…
 * runs a subset (for tuning); BENCH_WORKER_ENV="UV_THREADPOOL_SIZE=8,INTAKE_RESIZE_CONCURRENCY=4" passes
 * settings to the worker processes (BENCH_API_ENV likewise to the API). The bench's own knobs are read here; Intake's settings go through
 * config/env.ts in the processes that use them.
 */

const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
const wants = (part: string) => ONLY.size === 0 || ONLY.has(part);
const envList = (value: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (value ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
const WORKER_ENV = envList(process.env.BENCH_WORKER_ENV);
const API_ENV = envList(process.env.BENCH_API_ENV);

const SETTINGS = {
  quick: QUICK,
  throughputFiles: Number(process.env.BENCH_FILES ?? (QUICK ? 24 : 48)),
  repetitions: Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3)),
  uploadConcurrency: 4,
  limitConcurrencies: QUICK ? [2, 4] : [2, 4, 8],
  overheadSamples: QUICK ? 8 : 30,
  statusRequests: QUICK ? 40 : 200,
  statusFiles: 4,
  streamingBytes: QUICK ? 256 * 1024 * 1024 : 1024 * 1024 * 1024,
  streamingRepetitions: QUICK ? 1 : 3,
  kafkaBacklog: Number(process.env.BENCH_KAFKA_BACKLOG ?? 1000),
  photoFiles: Number(process.env.BENCH_PHOTOS ?? (QUICK ? 6 : 16)),
  stormFiles: Number(process.env.BENCH_STORM_FILES ?? (QUICK ? 500 : 10_000)),
  waiters: Number(process.env.BENCH_WAITERS ?? (QUICK ? 200 : 1_000)),
  streamOpenConcurrency: Number(process.env.BENCH_STREAM_OPEN ?? 32),
  stormNice: process.env.BENCH_STORM_NICE === '1',
  openWorkflows: Number(process.env.BENCH_OPEN_WORKFLOWS ?? (QUICK ? 1_000 : 20_000)),
  exportRows: QUICK ? [1_000, 10_000] : [10_000, 100_000],
  searchFiles: Number(process.env.BENCH_SEARCH_FILES ?? (QUICK ? 100_000 : 1_000_000)),
  searchTenantFiles: Number(process.env.BENCH_SEARCH_TENANT_FILES ?? (QUICK ? 10_000 : 100_000)),
  searchRequests: QUICK ? 20 : 100,
  recoveryRows: Number(process.env.BENCH_RECOVERY_ROWS ?? (QUICK ? 10_000 : 100_000)),
  recoveryUploads: Number(process.env.BENCH_RECOVERY_UPLOADS ?? (QUICK ? 20 : 200)),
  workerEnv: WORKER_ENV,
  apiEnv: API_ENV,
};

const TENANT = 'bench';
const API_KEY = 'bench-key-0123456789';

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Encoding CPU of WebP and AVIF renditions: in this process, no stack needed. */
async function renditionsPart(): Promise<RenditionsMeasurement> {
  const measured = await measureRenditions({
    images: Number(process.env.BENCH_FILES ?? (QUICK ? 2 : 6)),
    edges: [1024, 2048],
    settings: [
      // WebP's current (sharp default) settings first: every ratio is against it.
      { format: 'webp', quality: 80, effort: 4 },
      { format: 'avif', quality: 50, effort: 0 },
      { format: 'avif', quality: 50, effort: 2 },
      { format: 'avif', quality: 50, effort: 3 },
      { format: 'avif', quality: 50, effort: 4 },
      { format: 'avif', quality: 60, effort: 0 },
      { format: 'avif', quality: 60, effort: 2 },
    ],
    log,
  });
  for (const r of measured.runs)
    log(
      `renditions ${r.maxEdge}px ${r.format} q${r.quality} e${r.effort}: ${r.cpuMsPerImage} CPU ms, ${r.bytesPerImage} B, PSNR ${r.psnrDb} dB (× WebP: CPU ${r.cpuVsWebp}, bytes ${r.bytesVsWebp})`,
    );
  return measured;
}

async function main(): Promise<void> {
  const renditions = wants('renditions') ? await renditionsPart() : undefined;
  if (renditions && ONLY.size === 1) {
    const partial = { startedAt: new Date().toISOString(), loadAverage: os.loadavg(), renditions };
    const file = join(REPO_ROOT, 'bench', 'results.partial.json');
    writeFileSync(file, await format(JSON.stringify(partial), { parser: 'json' }));
    log(`wrote ${file}`);
    return;
  }
  const dataDir = mkdtempSync(join(os.tmpdir(), 'intake-bench-'));
  // mkdtemp makes it 0700; as root, PostgreSQL runs as `postgres`, whose cluster belongs inside it.
  chmodSync(dataDir, 0o755);
  const logDir = join(dataDir, 'logs');
  log(`data folder ${dataDir} (logs in ${logDir})`);
  let stack: Stack | undefined;
  const children: ServiceProcess[] = [];
  let failed = false;
  try {
    stack = await startStack({ dataDir, log: (line) => log(line) });
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...stack.env,
      NODE_ENV: 'production',
      INTAKE_LOG_LEVEL: 'warn',
      INTAKE_API_KEYS: `${TENANT}=${API_KEY}`,
      // One API key sends every request of the bench: 1,000 waiters at once, or 200 status reads back to
      // back, are over the default 100 per second. The limiter still counts each one in Redis, so its cost
      // stays in every figure; only its refusals are out. BENCH_API_ENV can set it back.
      INTAKE_DEFAULT_LIMITS: 'rps=100000',
      // The 1 GiB streaming measurement must pass the API's size limit, which config refuses above
      // clamd's; no worker runs while it is measured, so nothing scans it.
      INTAKE_MAX_UPLOAD_BYTES: String(2 * 1024 * 1024 * 1024),
      CLAMD_MAX_STREAM_BYTES: String(2 * 1024 * 1024 * 1024),
      // Production mode needs its own payload key and codec token; the bench measures with encryption on.
      INTAKE_PAYLOAD_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      INTAKE_CODEC_TOKEN: randomBytes(24).toString('base64url'),
      INTAKE_CODEC_PORT: '0',
    };
    const config = loadConfig(childEnv);

    log('generating images');
    const images = await makeJpegs(SETTINGS.throughputFiles);
    const sizes = images.map((b) => b.length);

    const api = await startApiProcess({ ...childEnv, ...API_ENV }, await freePort(), join(logDir, 'api.log'));
    children.push(api.process);
    log(`API up at ${api.url} (pid ${api.process.pid})`);
    const client = createIntakeClient({ baseUrl: api.url, apiKey: API_KEY });
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
    // The stack stops Postgres under an idle pooled connection at the end; that is expected.
    pool.on('error', () => undefined);
    const connection = await Connection.connect({ address: config.temporal.address });
    const temporal = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: dataConverterFor(config),
    });

    const results: BenchResults = {
      startedAt: new Date().toISOString(),
      machine: {
        cores: os.availableParallelism(),
        cpu: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
        platform: `${os.type()} ${os.release()}`,
      },
      versions: await collectVersions(pool),
      settings: { ...SETTINGS, imageBytes: { min: Math.min(...sizes), max: Math.max(...sizes) } },
      ...(renditions ? { renditions } : {}),
    };

    const workers: ServiceProcess[] = [];
    const servicePids = Object.fromEntries(stack.services.map((service) => [service.name, service.pid ?? -1]));
    const processes = () => ({
      ...servicePids,
      api: api.process.pid,
      ...Object.fromEntries(workers.map((worker, i) => [`worker${i + 1}`, worker.pid])),
      bench: process.pid,
    });
    const startWorker = async (kind: WorkerKind, extraEnv: NodeJS.ProcessEnv = {}) => {
      const child = await startWorkerProcess(childEnv, kind, logDir, { ...WORKER_ENV, ...extraEnv });
      workers.push(child);
      children.push(child);
      log(`${kind} worker up (pid ${child.pid})`);
      return child;
    };
    const stopWorkers = async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop(20_000)));
    };
    const throughputRuns = async (label: string): Promise<PipelineRun[]> => {
      const runs: PipelineRun[] = [];
      for (let rep = 0; rep < SETTINGS.repetitions; rep++) {
        const run = await measurePipeline({
          client,
          pool,
          images,
          uploadConcurrency: SETTINGS.uploadConcurrency,
          label: `${label}-${rep}`,
          processes,
        });
        if (run.notReady > 0) throw new Error(`${run.notReady} uploads of ${label} did not end READY`);
        log(`${label} #${rep + 1}: ${run.filesPerSecond.toFixed(2)} files/s (CPU ${(run.cpuBusy * 100).toFixed(0)}%)`);
        runs.push(run);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      return runs;
    };
    const summarise = (runs: PipelineRun[]) => ({
      filesPerSecond: round(median(runs.map((r) => r.filesPerSecond))),
      cpuBusy: round(median(runs.map((r) => r.cpuBusy))),
      cpuMsPerFile: medianByKey(runs.map((r) => r.cpuMsPerFile)),
      runs: runs.map((r) => ({ ...r, filesPerSecond: round(r.filesPerSecond), elapsedMs: Math.round(r.elapsedMs) })),
    });

    // Issue 16 item 1, first: no worker runs yet, so its files stay PROCESSING while they are waited on.
    // Long-polls, then one-file event streams: the same waiters, files and quiet window.
    for (const [part, mode] of [
      ['waiters', 'long-poll'],
      ['stream-waiters', 'stream'],
    ] as const) {
      if (!wants(part)) continue;
      const waiters = await measureWaiters({
        client,
        pool,
        apiUrl: api.url,
        apiKey: API_KEY,
        apiPid: api.process.pid,
        waiters: SETTINGS.waiters,
        finish: Math.max(1, Math.round(SETTINGS.waiters / 10)),
        quietMs: 20_000,
        mode,
        openConcurrency: SETTINGS.streamOpenConcurrency,
        log,
      });
      results[part === 'waiters' ? 'waiters' : 'streamWaiters'] = {
        ...waiters,
        loadAverage: os.loadavg().map((n) => round(n, 2)),
      };
    }

    // Issue 15: `intake export` of synthetic rows, before any worker runs (the CLI alone on the CPU).
    if (wants('export')) {
      results.export = await measureExport({ pool, env: childEnv, rowCounts: SETTINGS.exportRows, log });
    }

    // 1a. The in-process limit: the activities called directly, at several concurrencies.
    if (wants('limit') || wants('pipeline')) {
      const db = createDb(config.databaseUrl, { poolSize: 10 });
      const s3 = createS3Client(config.s3);
      const activities = createActivities({ config, s3, db, scanner: createClamdScanner(config.clamd) });
      const limitRun = (files: readonly Buffer[], concurrency: number, runId: string) =>
        measureLimit({ activities, config, s3, tenantId: TENANT, images: files, concurrency, runId, processes });
      const sweep: LimitRun[] = [];
      // A warm-up, so sharp, the S3 client and Prisma are loaded before the clock runs.
      await limitRun(images.slice(0, 2), 2, 'warm');
      for (const concurrency of SETTINGS.limitConcurrencies) {
        const run = await limitRun(images, concurrency, `c${concurrency}`);
        log(
          `limit at concurrency ${concurrency}: ${run.filesPerSecond.toFixed(2)} files/s (CPU ${(run.cpuBusy * 100).toFixed(0)}%)`,
        );
        sweep.push(run);
      }
      const best = sweep.reduce((a, b) => (b.filesPerSecond > a.filesPerSecond ? b : a));
      const atBest = [best];
      for (let rep = 1; rep < SETTINGS.repetitions; rep++) {
        const run = await limitRun(images, best.concurrency, `best${rep}`);
        log(`limit at concurrency ${best.concurrency} #${rep + 1}: ${run.filesPerSecond.toFixed(2)} files/s`);
        atBest.push(run);
      }
      results.limit = {
        concurrency: best.concurrency,
        filesPerSecond: round(median(atBest.map((r) => r.filesPerSecond))),
        cpuBusy: round(median(atBest.map((r) => r.cpuBusy))),
        cpuMsPerFile: medianByKey(atBest.map((r) => r.cpuMsPerFile)),
        sweep: sweep.map((r) => ({
          concurrency: r.concurrency,
          filesPerSecond: round(r.filesPerSecond),
          cpuBusy: round(r.cpuBusy),
        })),
        runs: atBest.map((r) => round(r.filesPerSecond)),
      };
      await db.$disconnect();
      s3.destroy();
    }

    // 5 and 4 (split): a general worker alone holds every upload at its resize step (the media queue
    // has no poller), so GET answers from the status query for as long as we like; then a media worker
    // joins, the uploads finish, and GET answers from Postgres.
    if (wants('status') || wants('scaleout')) {
      await startWorker('general');
      if (wants('status')) {
        const ids: string[] = [];
        for (const [i, bytes] of images.slice(0, SETTINGS.statusFiles).entries()) {
          ids.push((await client.uploadFile(bytes, { filename: `status-${i}.jpg`, mode: 'raw' })).id);
        }
        await waitForStep({ apiUrl: api.url, apiKey: API_KEY, ids, step: 'resize' });
        const running = await measureStatusTtfb({
          apiUrl: api.url,
          apiKey: API_KEY,
          ids,
          count: SETTINGS.statusRequests,
          expectStatus: 'PROCESSING',
        });
        await startWorker('media');
        await waitForOutcomes(pool, ids);
        const after = await measureStatusTtfb({
          apiUrl: api.url,
          apiKey: API_KEY,
          ids,
          count: SETTINGS.statusRequests,
          expectStatus: 'READY',
        });
        results.status = {
          requests: SETTINGS.statusRequests,
          runningP50Ms: round(median(running), 1),
          afterP50Ms: round(median(after), 1),
          runningP95Ms: round(percentileOf(running, 95), 1),
          afterP95Ms: round(percentileOf(after, 95), 1),
        };
        log(`status TTFB p50: running ${results.status.runningP50Ms} ms, after ${results.status.afterP50Ms} ms`);
      } else {
        await startWorker('media');
      }
      if (wants('scaleout')) results.split = summarise(await throughputRuns('general+media'));
      await stopWorkers();
    }

    // 1b: one worker process of kind `all`, as `npm run dev` runs it.
    if (wants('pipeline') || wants('scaleout')) {
      await startWorker('all');
      results.pipeline = summarise(await throughputRuns('pipeline'));
      // 4: a second identical worker process.
      if (wants('scaleout')) {
        await startWorker('all');
        results.twoWorkers = summarise(await throughputRuns('2 workers'));
      }
      await stopWorkers();
    }

    // 6: the pipeline with tracing and metrics on and off, each in fresh API and worker processes.
    if (wants('observability')) {
      results.observability = await measureObservability({
        env: childEnv,
        apiKey: API_KEY,
        images,
        pool,
        uploadConcurrency: SETTINGS.uploadConcurrency,
        repetitions: SETTINGS.repetitions,
        logDir,
        processes,
        log,
      });
      log(`observability on / off: ${results.observability.ratio}`);
    }

    // 2: one `all` worker at debug level, whose SDK logs each activity's own run time (local ones too).
    if (wants('overhead')) {
      const worker = await startWorker('all', { INTAKE_LOG_LEVEL: 'debug' });
      const samples = await measureOverhead({
        client,
        temporal,
        pool,
        images: Array.from({ length: SETTINGS.overheadSamples }, (_, i) => images[i % images.length]!),
        workerLog: worker.logFile,
      });
      results.overhead = summariseOverhead(samples);
      log(`orchestration overhead p50 ${results.overhead.p50Ms} ms, p95 ${results.overhead.p95Ms} ms`);
      await stopWorkers();
    }

    // 6: Kafka ingest against HTTP on the same images, alternating in the same run: an `all` worker does
    // the processing for both, the API process receives the HTTP uploads and an `ingest` process the
    // messages. Then the lag recovery of the consumer after a backlog of small files.
    if (wants('kafka')) {
      const kafkaEnv = {
        KAFKA_UPLOADS_TOPIC: 'bench.uploads',
        KAFKA_UPLOADS_DLQ_TOPIC: 'bench.uploads.dlq',
        KAFKA_CONSUMER_GROUP: 'bench-ingest',
      };
      const kafka = loadConfig({ ...childEnv, ...kafkaEnv }).kafka;
      await startWorker('all', { KAFKA_INGEST: 'false' });
      const ingest = await startWorker('ingest', kafkaEnv);
      const producer = createKafkaProducer(kafka, 'bench');
      const admin = createKafkaAdmin(kafka);
      try {
        const kafkaRun = (files: readonly Buffer[], label: string) =>
          measureKafkaPipeline({
            producer,
            pool,
            topic: kafka.topics.uploads,
            tenantId: TENANT,
            images: files,
            concurrency: SETTINGS.uploadConcurrency,
            label,
            processes,
          });
        // Warm-up on both paths: the consumer has joined its group and each process has its code loaded.
        await kafkaRun(images.slice(0, 2), 'kafka-warm');
        await measurePipeline({
          client,
          pool,
          images: images.slice(0, 2),
          uploadConcurrency: 2,
          label: 'http-warm',
          processes,
        });
        const httpRuns: PipelineRun[] = [];
        const kafkaRuns: PipelineRun[] = [];
        for (let rep = 0; rep < SETTINGS.repetitions; rep++) {
          const http = await measurePipeline({
            client,
            pool,
            images,
            uploadConcurrency: SETTINGS.uploadConcurrency,
            label: `http-${rep}`,
            processes,
          });
          const viaKafka = await kafkaRun(images, `kafka-${rep}`);
          if (http.notReady + viaKafka.notReady > 0)
            throw new Error('uploads of the Kafka comparison did not end READY');
          log(
            `kafka #${rep + 1}: ${viaKafka.filesPerSecond.toFixed(2)} files/s, http ${http.filesPerSecond.toFixed(2)} files/s`,
          );
          httpRuns.push(http);
          kafkaRuns.push(viaKafka);
        }
        // Nothing processes the backlog's files meanwhile: the figure is the consumer's own pace.
        await Promise.all(workers.filter((w) => w !== ingest).map((w) => w.stop(20_000)));
        const lag = await measureLagRecovery({
          producer,
          admin,
          topic: kafka.topics.uploads,
          group: kafka.consumerGroup,
          tenantId: TENANT,
          count: SETTINGS.kafkaBacklog,
          alreadyProduced: 2 + SETTINGS.repetitions * images.length,
          pause: () => ingest.signal('SIGSTOP'),
          resume: () => ingest.signal('SIGCONT'),
        });
        log(`kafka lag recovery: ${lag.messages} messages in ${(lag.recoveryMs / 1000).toFixed(1)} s`);
        const http = summarise(httpRuns);
        const viaKafka = summarise(kafkaRuns);
        results.kafka = {
          http,
          kafka: viaKafka,
          ratio: round(viaKafka.filesPerSecond / http.filesPerSecond),
          ratioPerRun: kafkaRuns.map((run, i) => round(run.filesPerSecond / httpRuns[i]!.filesPerSecond)),
          // Intake's own CPU per file (every process but "other"), which other programs' load does not distort.
          cpuPerFileRatio: round((http.cpuMsPerFile.total ?? 0) / (viaKafka.cpuMsPerFile.total ?? 1)),
          lagRecovery: { ...lag, messagesPerSecond: round(lag.messagesPerSecond, 1) },
        };
      } finally {
        await Promise.allSettled([producer.close(), admin.close()]);
        await stopWorkers();
      }
    }

    // Issue 16, item 4: 12 MP phone photos, the in-process limit and the pipeline in the same run.
    if (wants('photos')) {
      log(`generating ${SETTINGS.photoFiles} 12 MP photos`);
      const photos = await makePhotos(SETTINGS.photoFiles);
      const db = createDb(config.databaseUrl, { poolSize: 10 });
      const s3 = createS3Client(config.s3);
      const activities = createActivities({ config, s3, db, scanner: createClamdScanner(config.clamd) });
      // The worker's default resize slots: twice the cores.
      const concurrency = 2 * os.availableParallelism();
      const limitRun = (files: readonly Buffer[], runId: string) =>
        measureLimit({ activities, config, s3, tenantId: TENANT, images: files, concurrency, runId, processes });
      await limitRun(photos.slice(0, 2), 'photo-warm');
      const limit = await limitRun(photos, 'photos');
      log(`photos limit: ${limit.filesPerSecond.toFixed(2)} files/s at concurrency ${concurrency}`);
      await db.$disconnect();
      s3.destroy();
      const worker = await startWorker('all');
      await measurePipeline({
        client,
        pool,
        images: photos.slice(0, 2),
        uploadConcurrency: 2,
        label: 'photo-warm',
        processes,
      });
      const pipeline = await measurePhotoPipeline({
        client,
        pool,
        photos,
        uploadConcurrency: SETTINGS.uploadConcurrency,
        label: 'photo',
        workerPid: worker.pid!,
        rssOfWorker: () => rssOf(worker.pid!),
        processes,
      });
      if (pipeline.notReady > 0) throw new Error(`${pipeline.notReady} photos did not end READY`);
      log(
        `photos pipeline: ${pipeline.filesPerSecond.toFixed(2)} files/s, worker RSS peak ${pipeline.workerRssPeakMB} MB`,
      );
      await stopWorkers();
      results.photos = {
        files: photos.length,
        bytes: { min: Math.min(...photos.map((p) => p.length)), max: Math.max(...photos.map((p) => p.length)) },
        limit: { concurrency, filesPerSecond: round(limit.filesPerSecond), cpuMsPerFile: limit.cpuMsPerFile },
        pipeline: { ...pipeline, filesPerSecond: round(pipeline.filesPerSecond), cpuBusy: round(pipeline.cpuBusy) },
        ratio: round(pipeline.filesPerSecond / limit.filesPerSecond),
        loadAverage: os.loadavg().map((l) => round(l)),
      };
    }

    // Issue 16, items 5 and 3: many uploads waiting on their retention timers, then a retention storm.
    if (wants('openworkflows') || wants('storm')) {
      const worker = await startWorker('all');
      const s3 = createS3Client(config.s3);
      const scale = { client, temporal, pool, apiUrl: api.url, apiKey: API_KEY, workerPid: worker.pid!, log };
      const population = wants('openworkflows')
        ? await measureOpenWorkflows({ ...scale, count: SETTINGS.openWorkflows, requests: SETTINGS.statusRequests })
        : null;
      if (population) results.openWorkflows = population.result;
      if (wants('storm')) {
        // BENCH_STORM_NICE=1: the worker and the servers a deployment runs on other machines (Temporal,
        // MinIO, clamd, Kafka) yield the CPU to the API and Postgres, to tell the storm's cost to the
        // status read apart from two cores shared by everything.
        if (SETTINGS.stormNice) {
          const others = stack.services.filter((s) => s.name !== 'postgres' && s.name !== 'redis');
          const threads = lowerPriority([worker.pid!, ...others.flatMap((s) => (s.pid ? [s.pid] : []))]);
          log(`storm: worker and ${others.map((s) => s.name).join(', ')} at nice 19 (${threads} threads)`);
        }
        results.storm = await measureStormPart({
          ...scale,
          s3,
          bucket: config.s3.bucket,
          tenantId: TENANT,
          count: SETTINGS.stormFiles,
          existing: population?.files,
          quietReads: SETTINGS.statusRequests,
        });
      }
      s3.destroy();
      await stopWorkers();
    }

    // 3: no workers run, so the 1 GiB upload's workflow (clamd refuses streams over 1000 MB) stays idle
    // and is terminated afterwards; the measurement sees only the API, MinIO and the client.
    if (wants('streaming')) {
      const s3 = createS3Client(config.s3);
      const viaApi: StreamingRun[] = [];
      const direct: StreamingRun[] = [];
      // One 64 MiB warm-up upload first: the API loads the S3 multipart code and JIT-compiles its stream
      // path once; that one-time cost is not memory that grows with an upload's size.
      const warmUp = await uploadThroughApi({
        apiUrl: api.url,
        apiKey: API_KEY,
        apiPid: api.process.pid,
        bytes: 64 * 1024 * 1024,
      });
      log(`streaming warm-up (64 MiB, not counted): RSS +${(warmUp.rssGrowthBytes / 1e6).toFixed(1)} MB`);
      await temporal.workflow.getHandle(warmUp.workflowId).terminate('benchmark warm-up, never processed');
      await s3.send(new DeleteObjectCommand({ Bucket: config.s3.bucket, Key: `incoming/${TENANT}/${warmUp.fileId}` }));
      for (let rep = 0; rep < SETTINGS.streamingRepetitions; rep++) {
        const run = await uploadThroughApi({
          apiUrl: api.url,
          apiKey: API_KEY,
          apiPid: api.process.pid,
          bytes: SETTINGS.streamingBytes,
        });
        log(`streaming via API: ${run.mbPerSecond.toFixed(0)} MB/s, RSS +${(run.rssGrowthBytes / 1e6).toFixed(1)} MB`);
        viaApi.push(run);
        await temporal.workflow.getHandle(run.workflowId).terminate('benchmark upload, never processed');
        await s3.send(new DeleteObjectCommand({ Bucket: config.s3.bucket, Key: `incoming/${TENANT}/${run.fileId}` }));
        const key = `bench/direct-${rep}`;
        const straight = await uploadDirectInChild({ env: childEnv, key, bytes: SETTINGS.streamingBytes });
        log(
          `streaming direct (fresh process): ${straight.mbPerSecond.toFixed(0)} MB/s, RSS +${(straight.rssGrowthBytes / 1e6).toFixed(1)} MB`,
        );
        direct.push(straight);
        await s3.send(new DeleteObjectCommand({ Bucket: config.s3.bucket, Key: key }));
      }
      const rss = (runs: StreamingRun[]) => round(median(runs.map((r) => r.rssGrowthBytes)) / 1e6, 1);
      const mbps = (runs: StreamingRun[]) => round(median(runs.map((r) => r.mbPerSecond)), 1);
      results.streaming = {
        bytes: SETTINGS.streamingBytes,
        apiRssGrowthMB: rss(viaApi),
        apiRssGrowthMaxMB: round(Math.max(...viaApi.map((r) => r.rssGrowthBytes)) / 1e6, 1),
        apiMBps: mbps(viaApi),
        directMBps: mbps(direct),
        directRssGrowthMB: rss(direct),
        ratio: round(mbps(viaApi) / mbps(direct)),
        runs: { api: viaApi.map(strip), direct: direct.map(strip) },
      };
      s3.destroy();
    }

    // Issue 15: backup, restore and reconcile at 100k File rows, through the CLI; its seeded rows are
    // deleted after it, before search seeds its own.
    if (wants('recovery')) {
      await startWorker('all');
      results.recovery = await measureRecovery({
        pool,
        client,
        env: childEnv,
        databaseUrl: config.databaseUrl,
        rows: SETTINGS.recoveryRows,
        before: Math.ceil(SETTINGS.recoveryUploads / 4),
        after: SETTINGS.recoveryUploads,
        log,
      });
      await stopWorkers();
    }

    // Issue 16 item 2, last: a million seeded rows would change what every other measurement reads.
    if (wants('search')) {
      results.search = await measureSearch({
        pool,
        apiUrl: api.url,
        apiKey: API_KEY,
        tenantId: TENANT,
        total: SETTINGS.searchFiles,
        tenantFiles: SETTINGS.searchTenantFiles,
        requests: SETTINGS.searchRequests,
        loadAverage: () => os.loadavg().map((n) => round(n, 2)),
        log,
      });
    }

    const resultsFile = join(REPO_ROOT, 'bench', QUICK || ONLY.size > 0 ? 'results.partial.json' : 'results.json');
    results.finishedAt = new Date().toISOString();
    printTable(results);
    // Formatted as the repository's formatter would, so `npm run lint` passes with the file present.
    writeFileSync(resultsFile, await format(JSON.stringify(results), { parser: 'json' }));
    log(`wrote ${resultsFile}`);

    await pool.end();
    await connection.close();
  } catch (error) {
    failed = true;
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    console.error(`logs kept in ${logDir}`);
  } finally {
    await Promise.allSettled(children.reverse().map((c) => c.stop(20_000)));
    await stack?.stop();
    if (!failed && process.env.BENCH_KEEP !== '1') rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

function medianByKey(records: Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((key) => [key, Math.round(median(records.map((r) => r[key] ?? 0)))]));
}

function strip(run: StreamingRun) {
  return {
    mbPerSecond: round(run.mbPerSecond, 1),
    elapsedMs: Math.round(run.elapsedMs),
    rssGrowthMB: round(run.rssGrowthBytes / 1e6, 1),
    rssBeforeMB: round(run.rssBeforeBytes / 1e6, 1),
    rssPeakMB: round(run.rssPeakBytes / 1e6, 1),
  };
}

void main();
