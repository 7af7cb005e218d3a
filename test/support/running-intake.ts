import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig, type Config } from '../../config/env';
import { createIntakeClient, type IntakeClient } from '../../api/client';
import { createS3Client } from '../../lib/s3-client';
import { createDb, type Db } from '../../prisma/db';
import { applyMigrations } from '../../prisma/migrate';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { startWebhookReceiver, type WebhookReceiver } from '../../infra/webhook-receiver';

export interface StartIntakeOptions<Tenant extends string> {
  /** tenant id → API key; each tenant gets a client in `clients`. */
  tenants: Record<Tenant, string>;
  /**
   * Settings on top of process.env, which global-setup points at the shared test stack. A test with its
   * own stack passes that stack's env here.
   */
  env?: Record<string, string>;
}

export interface RunningIntake<Tenant extends string> {
  config: Config;
  api: RunningApi;
  clients: Record<Tenant, IntakeClient>;
  /** The API's Temporal client (describe, list by search attributes). */
  temporal: Client;
  db: Db;
  s3: S3Client;
  receiver: WebhookReceiver;
  /** Starts the workers again after stopWorkers (a fresh connection, as a restarted process would). */
  startWorkers(): Promise<void>;
  /** Stops the workers as `npm run worker` does on SIGTERM; workflows stay where they are in Temporal. */
  stopWorkers(): Promise<void>;
  /** Every S3 key under `prefix`. */
  objectsUnder(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** The SDK logs every worker state change at INFO; tests only want to see problems. */
function quietTemporalLogs(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already in this process: keep it.
  }
}

/**
 * Runs Intake as production does, in-process: the API (startApi, as `npm run api`) and the workers
 * (startWorkers, as `npm run worker`) against a real stack, plus a local webhook receiver. Nothing is
 * faked; the API listens on a free port of 127.0.0.1.
 */
export async function startIntake<Tenant extends string>(
  options: StartIntakeOptions<Tenant>,
): Promise<RunningIntake<Tenant>> {
  quietTemporalLogs();
  const receiver = await startWebhookReceiver();
  const config = loadConfig({
    ...process.env,
    INTAKE_PORT: '0',
    INTAKE_HOST: '127.0.0.1',
    INTAKE_CODEC_PORT: '0',
    INTAKE_LOG_LEVEL: 'warn',
    // The SSRF guard stays on, as in production: only the test receiver's address and port are let
    // through (global-setup's INTAKE_WEBHOOK_ALLOW_PRIVATE is for the activity tests' own receivers).
    INTAKE_WEBHOOK_ALLOW_PRIVATE: 'false',
    INTAKE_WEBHOOK_ALLOW_TARGETS: new URL(receiver.url('/')).host,
    INTAKE_API_KEYS: Object.entries<string>(options.tenants)
      .map(([tenant, key]) => `${tenant}=${key}`)
      .join(','),
    // The uploads topic's consumer only where a test asks for it (test/e2e/kafka-ingest.test.ts).
    KAFKA_INGEST: 'false',
    ...options.env,
  });
  const log = pino({ level: config.logLevel, base: { service: 'intake-e2e' } });
  await applyMigrations(config.databaseUrl);
  const db = createDb(config.databaseUrl, { poolSize: 4 });
  const s3 = createS3Client(config.s3);

  let workers: RunningWorkers | undefined = await startWorkers(config, log, 'all');
  const api = await startApi(config, { log });
  const clients = Object.fromEntries(
    Object.entries<string>(options.tenants).map(([tenant, apiKey]) => [
      tenant,
      createIntakeClient({ baseUrl: api.url, apiKey }),
    ]),
  ) as Record<Tenant, IntakeClient>;

  const stopWorkers = async (): Promise<void> => {
    const running = workers;
    workers = undefined;
    await running?.stop();
  };

  let stopping: Promise<void> | undefined;
  return {
    config,
    api,
    clients,
    temporal: api.services.temporal,
    db,
    s3,
    receiver,
    async startWorkers() {
      workers ??= await startWorkers(config, log, 'all');
    },
    stopWorkers,
    async objectsUnder(prefix) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: prefix }));
      return (listed.Contents ?? []).map((object) => object.Key ?? '');
    },
    stop() {
      stopping ??= (async () => {
        await Promise.allSettled([api.close(), stopWorkers(), receiver.close()]);
        await db.$disconnect();
        s3.destroy();
      })();
      return stopping;
    },
  };
}
