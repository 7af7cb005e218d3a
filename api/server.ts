import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import pino, { type Logger } from 'pino';
import { loadConfig, type Config } from '../config/env';
import { createClamdScanner } from '../lib/clamd-scanner';
import { createS3Client } from '../lib/s3-client';
import { codecSecrets } from '../lib/codec-secrets';
import { dataConverterFor } from '../lib/data-converter';
import { AesGcmPayloadCodec } from '../lib/payload-codec';
import { createApiMetrics, createRegistry } from '../lib/metrics';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { tracingClientInterceptors } from '../lib/temporal-tracing';
import { startTracing, traceLogFields } from '../lib/tracing';
import { createRedisClient, createRequestLimiter } from '../lib/request-limiter';
import { createDb } from '../prisma/db';
import { applyMigrations } from '../prisma/migrate';
import { seedApiKeys } from '../prisma/tenants';
import { sweepExpiredTusUploads } from '../services/tus-upload';
import { buildConsole } from '../console/build';
import { createApp } from './app';
import { createFileChanges } from '../prisma/file-changes';
import { createFileFeed } from './file-events/file-feed';
import { startCodecEndpoint } from './codec-endpoint';
import type { ApiServices } from './types';

/** Uploads of hundreds of MiB over slow links must not hit Node's default 5-minute request timeout. */
const REQUEST_TIMEOUT_MS = 60 * 60_000;
/** How long a stopping API lets in-flight requests finish; the Helm chart's grace period outlasts it. */
export const SHUTDOWN_GRACE_MS = 15_000;

/** The Temporal client, connected lazily so the API starts (and /readyz reports) while Temporal is down. */
export function createTemporalClient(config: Pick<Config, 'temporal' | 'codec' | 'dataDir'>): Client {
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config),
    // The workflow start carries the request's span, so the workflow and its steps join its trace.
    interceptors: { workflow: tracingClientInterceptors() },
  });
}

/** One warning per outage, not one per reconnect attempt (every 2 s while Redis is down). */
function redisErrorLog(log: Logger): (error: Error) => void {
  let last = 0;
  return (error) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    log.warn({ err: error }, 'Redis unreachable: reads go unmetered, uploads answer 503 until it is back');
  };
}

export function createApiServices(config: Config, log: Logger): ApiServices {
  const scanner = createClamdScanner(config.clamd);
  return {
    config,
    log,
    db: createDb(config.databaseUrl, { connectTimeoutMs: 5_000 }),
    s3: createS3Client(config.s3),
    temporal: createTemporalClient(config),
    limiter: createRequestLimiter(createRedisClient(config.redis.url, redisErrorLog(log))),
    fileChanges: createFileChanges({ databaseUrl: config.databaseUrl, log }),
    clamdPing: async () => {
      if (!(await scanner.ping()))
        throw new Error(`clamd at ${config.clamd.host}:${config.clamd.port} did not answer PING`);
    },
    ...(config.metrics.enabled && { metrics: createApiMetrics(createRegistry()) }),
  };
}

export interface RunningApi {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /**
   * The codec endpoint for the Temporal Web UI and CLI (its own listener, INTAKE_CODEC_HOST:PORT);
   * calls need the codec token (api/codec-endpoint.ts).
   */
  codecUrl: string;
  services: ApiServices;
  close(): Promise<void>;
}

/**
 * Seeds the configured API keys, then serves the API. Used by `npm run api` and by end-to-end tests
 * (with port 0 for a free port).
 */
export async function startApi(
  config: Config,
  options: { log?: Logger; services?: ApiServices } = {},
): Promise<RunningApi> {
  const log = options.log ?? pino({ level: config.logLevel, base: { service: 'intake-api' }, mixin: traceLogFields });
  const services = options.services ?? createApiServices(config, log);
  // API and workers may start together; migrations take an advisory lock, so this is safe and idempotent.
  await applyMigrations(config.databaseUrl);
  if (config.apiKeys.length > 0) await seedApiKeys(services.db, config.apiKeys);
  // The console's assets are built from console/ when missing or stale (a fresh clone, an edit): every
  // way of starting the API (dev, tests, npm run api, the image) serves a current console.
  try {
    const consoleBuild = await buildConsole();
    if (consoleBuild.built) log.info({ bytes: consoleBuild.bytes }, 'web console built into dist/console');
  } catch (error) {
    // The API is what matters; a console that cannot be rebuilt (a read-only image) serves what it has.
    log.warn({ err: error }, 'could not build the web console; serving the assets already in dist/console');
  }
  // One feed for every event stream of this process, closed first on shutdown so open streams end.
  const fileFeed =
    services.fileFeed ??
    createFileFeed({ db: services.db, temporal: services.temporal, config, log, changes: services.fileChanges });
  const app = createApp({ ...services, fileFeed });
  const secrets = codecSecrets(config);
  const codecEndpoint = await startCodecEndpoint({
    codec: new AesGcmPayloadCodec(secrets.keys),
    token: secrets.token,
    allowedOrigins: config.codec.allowedOrigins,
    namespace: config.temporal.namespace,
    log,
    host: config.codec.host,
    port: config.codec.port,
  });
  log.info(
    { codecUrl: codecEndpoint.url, allowedOrigins: config.codec.allowedOrigins },
    'codec endpoint listening (token required)',
  );

  const server = await new Promise<ServerType>((resolve) => {
    const listening: ServerType = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        serverOptions: { requestTimeout: REQUEST_TIMEOUT_MS },
      },
      () => resolve(listening),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  log.info(
    { url, publicUrl: config.publicUrl, tenants: config.apiKeys.map((apiKey) => apiKey.tenant) },
    'api listening',
  );

  const tusSweep = sweepTusPeriodically(config, services, log);

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting, let in-flight requests finish (bounded), then release the clients.
      fileFeed.close();
      // Long-polls answer now with the file as it is (200, repeatable), before the server stops taking.
      await services.fileChanges?.close();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          if ('closeAllConnections' in server) server.closeAllConnections();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      });
      clearInterval(tusSweep);
      await codecEndpoint.close();
      if (!options.services) {
        await Promise.allSettled([
          services.db.$disconnect(),
          services.temporal.connection.close(),
          services.limiter.close(),
        ]);
        services.s3.destroy();
      }
      log.info('api stopped');
    })());
  return { url, port, codecUrl: codecEndpoint.url, services, close };
}

/**
 * tus' expiration extension: unfinished uploads older than INTAKE_TUS_EXPIRY are removed. Every API
 * process sweeps; the sweep is idempotent, so several processes only repeat each other's deletes.
 */
function sweepTusPeriodically(config: Config, services: ApiServices, log: Logger): NodeJS.Timeout {
  const everyMs = Math.min(Math.max(config.tus.expiryMs / 4, 60_000), 3_600_000);
  const deps = { s3: services.s3, bucket: config.s3.bucket, expiryMs: config.tus.expiryMs, log };
  const timer = setInterval(() => {
    sweepExpiredTusUploads(deps).catch((error: unknown) =>
      log.warn({ err: error }, 'could not sweep expired tus uploads; the next sweep retries'),
    );
  }, everyMs);
  timer.unref();
  return timer;
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Before any client or server exists, so every request and Temporal call has the tracer provider.
  const tracing = startTracing(config.telemetry, 'intake-api');
  const log = pino({ level: config.logLevel, base: { service: 'intake-api' }, mixin: traceLogFields });
  const api = await startApi(config, { log });
  log.info({ metricsUrl: `${api.url}/metrics` }, 'metrics served');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      api
        .close()
        .then(() => tracing.shutdown())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
