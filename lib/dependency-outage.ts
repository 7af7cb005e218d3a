/**
 * Telling "a dependency is down" from "the request was wrong": the API answers the former with a 503
 * (retry later) and the database classifier (prisma/db.ts) builds its retry decision on the same codes.
 * Checks by name and code rather than instanceof so it holds across duplicated module copies.
 */

/**
 * Node socket errors raised before the dependency could answer: it is down, unreachable or hung up, or
 * its name did not resolve for now (EAI_AGAIN) or the route to it is lost (ENETUNREACH).
 */
export const UNREACHABLE_SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
]);

/**
 * SQLSTATEs of a PostgreSQL that cannot serve anyone right now: 08 connection exceptions, 53300 too
 * many connections, 57P01..57P03 shutting down, crashed or starting up ("the database system is
 * starting up" while it recovers from a crash).
 */
export const UNAVAILABLE_SQLSTATE = /^(08...|53300|57P0[123])$/;

/** @prisma/adapter-pg's kinds for a connection that failed, as opposed to a query that did. */
export const UNAVAILABLE_ADAPTER_KINDS: ReadonlySet<string> = new Set([
  'DatabaseNotReachable',
  'SocketTimeout',
  'ConnectionClosed',
  'TooManyConnections',
  'TlsConnectionError',
]);

/**
 * Prisma's codes for a database it cannot reach: P1001 unreachable, P1002 connect timed out, P1008
 * operation timed out, P1017 server closed the connection.
 */
export const UNREACHABLE_DATABASE_CODES: ReadonlySet<string> = new Set(['P1001', 'P1002', 'P1008', 'P1017']);

/**
 * node-postgres' own errors for a server that went away under an open connection (its postmaster was
 * killed or restarted): plain Errors with no code, which @prisma/adapter-pg passes on unchanged, so
 * only the message tells them apart. "Connection terminated unexpectedly" is the one a pooled
 * connection raises mid-query.
 */
const PG_CONNECTION_LOST =
  /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect)$/;

// gRPC status codes from the Temporal client: UNAVAILABLE and DEADLINE_EXCEEDED.
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

/** A driver adapter's cause: { kind: 'postgres', code: '57P03' } while Postgres recovers, or its own kind. */
function isUnavailableAdapterCause(cause: unknown): boolean {
  if (typeof cause !== 'object' || cause === null) return false;
  const { kind, code } = cause as { kind?: unknown; code?: unknown };
  if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
  return kind === 'postgres' && typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code);
}

/** True for errors that mean a dependency (Postgres, Temporal, S3, clamd) is down or unreachable. */
export function isDependencyOutage(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const err = e as {
      name?: string;
      code?: unknown;
      errorCode?: unknown;
      kind?: unknown;
      originalCode?: unknown;
      $metadata?: { httpStatusCode?: unknown };
      $fault?: unknown;
    };
    if (err.name === 'PrismaClientInitializationError' || err.name === 'TimeoutError') return true;
    if (err.name === 'Error' && err.code === undefined && PG_CONNECTION_LOST.test((e as Error).message ?? '')) {
      return true;
    }
    if (isUnavailableAdapterCause(err)) return true;
    // A query Prisma ran (P2010 for a raw one) carries the adapter's cause in its meta, not as `cause`:
    // a connection terminated by a postmaster crash (57P01) is there.
    const meta = (e as { meta?: { driverAdapterError?: { cause?: unknown } } }).meta;
    if (isUnavailableAdapterCause(meta?.driverAdapterError?.cause)) return true;
    // S3 (AWS SDK v3): a 5xx or a server fault is the store's trouble, not the request's.
    const httpStatus = err.$metadata?.httpStatusCode;
    if (err.$fault === 'server' || (typeof httpStatus === 'number' && httpStatus >= 500)) return true;
    if (
      typeof err.code === 'string' &&
      (UNREACHABLE_SOCKET_CODES.has(err.code) || UNREACHABLE_DATABASE_CODES.has(err.code))
    ) {
      return true;
    }
    if (typeof err.errorCode === 'string' && UNREACHABLE_DATABASE_CODES.has(err.errorCode)) return true;
    if (err.name === 'ServiceError' || err.name === 'GrpcError' || typeof err.code === 'number') {
      if (err.code === GRPC_UNAVAILABLE || err.code === GRPC_DEADLINE_EXCEEDED) return true;
    }
  }
  return false;
}
