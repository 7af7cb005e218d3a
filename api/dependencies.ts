import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import type { Db } from '../prisma/db';
import type { AcceptUploadDeps } from '../services/accept-upload';
import type { AppEnv } from './types';
import { isDependencyOutage } from '../lib/dependency-outage';
import { ApiError } from './errors';

export type Dependency = 'Temporal' | 'Postgres' | 'S3' | 'clamd';

/** Default budget for one dependency call made while a client waits for an answer. */
export const DEPENDENCY_TIMEOUT_MS = 5_000;

/**
 * Runs one call to a dependency with a deadline. A dependency that is down or silent must turn into a
 * quick 503, never a hung request: the Temporal client and the Postgres pool would otherwise keep
 * retrying for a long time. The signal is aborted on timeout so the call itself stops too.
 */
export async function callDependency<T>(
  dependency: Dependency,
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs = DEPENDENCY_TIMEOUT_MS,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`${dependency} timed out`));
      reject(new ApiError('dependency_unavailable', `${dependency} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (isDependencyOutage(error) || controller.signal.aborted) {
      throw new ApiError('dependency_unavailable', `${dependency} is unavailable; retry later`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export const withDb = <T>(c: Context<AppEnv>, fn: (db: Db) => Promise<T>, timeoutMs?: number) =>
  callDependency('Postgres', () => fn(c.var.db), timeoutMs);

/** Temporal calls also get the abort signal through the client, so the gRPC call is cancelled. */
export const withTemporal = <T>(c: Context<AppEnv>, fn: (client: Client) => Promise<T>, timeoutMs?: number) =>
  callDependency('Temporal', (signal) => c.var.temporal.withAbortSignal(signal, () => fn(c.var.temporal)), timeoutMs);

/** What the upload services need from a request: its config, clients, logger, deadlines and quota. */
export function uploadDeps(c: Context<AppEnv>): AcceptUploadDeps {
  return {
    config: c.var.config,
    s3: c.var.s3,
    log: c.var.log,
    withDb: (fn) => withDb(c, fn),
    withTemporal: (fn) => withTemporal(c, fn),
    limits: c.var.limits,
  };
}
