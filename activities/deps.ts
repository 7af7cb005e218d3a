import type { S3Client } from '@aws-sdk/client-s3';
import type pino from 'pino';
import type { Config } from '../config/env';
import type { Scanner } from '../lib/clamd-scanner';
import type { Db } from '../prisma/db';
import type { EventSink } from '../lib/kafka-event-sink';

/** What every activity may use. The worker passes the real services; tests pass the real test stack. */
export interface ActivityDeps {
  config: Config;
  s3: S3Client;
  db: Db;
  scanner: Scanner;
  log?: pino.Logger;
  /** Where publishEvent sends events (the events topic); absent, nothing is published. */
  events?: EventSink;
  /** Overridable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}
