import type { S3Client } from '@aws-sdk/client-s3';
import type { LimitFunction } from 'p-limit';
import type pino from 'pino';
import type { Config } from '../config/env';
import type { Scanner } from '../lib/clamd-scanner';
import type { WorkerMetrics } from '../lib/metrics';
import type { Db } from '../prisma/db';
import type { EventSink } from '../lib/kafka-event-sink';
import type { ObjectDeleter } from '../lib/batched-deletes';

/** What every activity may use. The worker passes the real services; tests pass the real test stack. */
export interface ActivityDeps {
  config: Config;
  s3: S3Client;
  db: Db;
  scanner: Scanner;
  log?: pino.Logger;
  /** Where publishEvent sends events (the events topic); absent, nothing is published. */
  events?: EventSink;
  /** The worker's own Prometheus metrics (lib/metrics.ts); absent where nobody scrapes (tests, bench's limit). */
  metrics?: WorkerMetrics;
  /** Coalesces the S3 deletes of concurrent deletions into shared DeleteObjects requests; createActivities makes one. */
  objectDeleter?: ObjectDeleter;
  /** Bounds the deletions' database work (INTAKE_DELETE_CONCURRENCY); createActivities makes one. */
  deletionSlots?: LimitFunction;
  /** Overridable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}
