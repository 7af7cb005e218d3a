import type { S3Client } from '@aws-sdk/client-s3';
import type pino from 'pino';
import type { Config } from '../config/env';
import type { Scanner } from '../lib/clamd-scanner';
import type { WorkerMetrics } from '../lib/metrics';
import type { Db } from '../prisma/db';

/** What every activity may use. The worker passes the real services; tests pass the real test stack. */
export interface ActivityDeps {
  config: Config;
  s3: S3Client;
  db: Db;
  scanner: Scanner;
  log?: pino.Logger;
  /** The worker's own Prometheus metrics (lib/metrics.ts); absent where nobody scrapes (tests, bench's limit). */
  metrics?: WorkerMetrics;
  /** Overridable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}
