import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import type { Prisma } from '../generated/prisma/client';
import {
  UNAVAILABLE_ADAPTER_KINDS,
  UNREACHABLE_DATABASE_CODES,
  UNREACHABLE_SOCKET_CODES,
} from '../lib/dependency-outage';

// The one place that imports the generated client: everything else imports these names from here.
export { Prisma } from '../generated/prisma/client';
export type {
  ApiKey,
  Backup,
  DirectUpload,
  Batch,
  File,
  JsonSchema,
  ShareLink,
  Tenant,
  TenantEvent,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
} from '../generated/prisma/client';

/** A connected client: owns the pool, can start transactions and must be `$disconnect()`ed. */
export type Db = PrismaClient;
/** What data functions take: the client itself or the client handed to a `$transaction` callback. */
export type DbClient = Db | Prisma.TransactionClient;

export interface CreateDbOptions {
  /** Connections in this process's pool. Each API or worker process holds its own pool. */
  poolSize?: number;
  /** How long a query waits for a free pooled connection before failing (retryable) instead of hanging. */
  connectTimeoutMs?: number;
}

/**
 * A Prisma client on the pg driver adapter. The schema's engineType "client" plans queries with the
 * Wasm query compiler and runs them through `pg`, so no native engine is loaded.
 */
export function createDb(databaseUrl: string, options: CreateDbOptions = {}): Db {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // Idle connections are closed so a restarted Postgres does not leave the pool full of dead sockets.
    idleTimeoutMillis: 30_000,
  });
  return new PrismaClient({ adapter });
}

// Prisma error codes that describe the connection or contention, not the request: retrying may succeed.
// Beyond an unreachable database: P1011 TLS, P2024 pool timeout, P2028 transaction API error (e.g.
// expired), P2034 write conflict or deadlock, P2037 too many connections.
const RETRYABLE_PRISMA_CODES = new Set([...UNREACHABLE_DATABASE_CODES, 'P1011', 'P2024', 'P2028', 'P2034', 'P2037']);

// SQLSTATE classes and codes that mean "try again": 08 connection exception, 40001 serialization
// failure, 40P01 deadlock, 53 insufficient resources, 55P03 lock not available, 57014 statement timeout,
// 57P01..57P03 server shutting down / restarting.
const RETRYABLE_SQLSTATE = /^(08...|40001|40P01|53...|55P03|57014|57P0[123])$/;

// Driver adapter error kinds (from @prisma/adapter-pg): a failed connection, or a transaction contention
// a retry may win.
const RETRYABLE_ADAPTER_KINDS = new Set([
  ...UNAVAILABLE_ADAPTER_KINDS,
  'TransactionAlreadyClosed',
  'TransactionWriteConflict',
]);

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * True when a database error is worth retrying (connection loss, timeouts, serialization failures,
 * deadlocks, an exhausted pool); false for errors a retry would repeat (constraint violations, bad
 * input, missing tables). Activities rethrow the former for Temporal to retry and fail fast on the rest.
 * Checks by code and name rather than instanceof so it also holds across duplicated module copies.
 */
export function isRetryableDbError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const name = field(current, 'name');
    const code = field(current, 'code');
    // Initialisation failures are connection set-up failures (server down, DNS, timeouts).
    if (name === 'PrismaClientInitializationError') return true;
    if (typeof code === 'string') {
      if (RETRYABLE_PRISMA_CODES.has(code) || UNREACHABLE_SOCKET_CODES.has(code) || RETRYABLE_SQLSTATE.test(code)) {
        return true;
      }
    }
    // Known request errors from the driver adapter carry the adapter's own classification and the
    // original SQLSTATE (e.g. a raw query's P2010 wrapping a 40001).
    const adapterCause = field(field(field(current, 'meta'), 'driverAdapterError'), 'cause');
    const kind = field(adapterCause, 'kind');
    const originalCode = field(adapterCause, 'originalCode');
    if (typeof kind === 'string' && RETRYABLE_ADAPTER_KINDS.has(kind)) return true;
    if (typeof originalCode === 'string' && RETRYABLE_SQLSTATE.test(originalCode)) return true;
    if (typeof code === 'string' && /^P\d{4}$/.test(code)) return false;
    current = field(current, 'cause');
  }
  if (
    err instanceof Error &&
    /Connection terminated|connection timeout|Timed out fetching a new connection/i.test(err.message)
  ) {
    return true;
  }
  return false;
}
