import type { S3Client } from '@aws-sdk/client-s3';
import DataLoader from 'dataloader';
import pLimit from 'p-limit';
import { deleteObjectsOnce, S3_DELETE_BATCH_LIMIT } from './s3-objects';

/*
 * One DeleteObjects request for the keys of many files. A retention storm runs thousands of
 * deleteArtifacts at once in a worker; each used to send its own request for its four to six keys.
 * Here the keys every caller asks for within a short window join one request (up to S3's 1000 keys),
 * and a few such requests are in flight at a time, so S3 sees tens of requests for ten thousand files.
 * DataLoader does the coalescing (its batch function answers key by key, which is what DeleteObjects
 * reports); its cache is off, since deleting a key twice must send it twice.
 */

export interface ObjectDeleter {
  /** Resolves once every key is gone (a key that did not exist counts as gone); rejects naming a key S3 kept. */
  deleteKeys(keys: readonly string[]): Promise<void>;
}

export interface ObjectDeleterOptions {
  s3: S3Client;
  bucket: string;
  /** How long the first key of a batch waits for others to join it. */
  windowMs?: number;
  /** DeleteObjects requests in flight at once. */
  maxInFlight?: number;
  /** Attempts for a key S3 reports an error for, within one call, before the caller's promise rejects. */
  attempts?: number;
  /** Pause before the first retry of the keys that failed; doubled each retry. */
  retryDelayMs?: number;
}

export function createObjectDeleter(options: ObjectDeleterOptions): ObjectDeleter {
  const { s3, bucket } = options;
  const windowMs = options.windowMs ?? 20;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const inFlight = pLimit(options.maxInFlight ?? 2);

  const loader = new DataLoader<string, true>(
    (keys) =>
      inFlight(async () => {
        let failed = new Map<string, Error>();
        let pending: readonly string[] = keys;
        for (let attempt = 1; ; attempt++) {
          // A request that fails as a whole (network, 5xx after the SDK's own retries) fails every key.
          failed = await deleteObjectsOnce(s3, bucket, pending).catch(
            (error: unknown) => new Map(pending.map((key) => [key, asError(error)])),
          );
          // Per-key errors (AccessDenied, InternalError, SlowDown…) are retried, never dropped.
          if (failed.size === 0 || attempt >= attempts) break;
          pending = [...failed.keys()];
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** (attempt - 1)));
        }
        return keys.map((key) => failed.get(key) ?? true);
      }),
    {
      cache: false,
      maxBatchSize: S3_DELETE_BATCH_LIMIT,
      batchScheduleFn: (callback) => setTimeout(callback, windowMs),
    },
  );

  return {
    async deleteKeys(keys) {
      const unique = [...new Set(keys)];
      const results = await loader.loadMany(unique);
      const errors = results.filter((result): result is Error => result instanceof Error);
      if (errors.length > 0) {
        throw new Error(
          `S3 could not delete ${errors.length} of ${unique.length} object(s), e.g. ${errors[0]?.message}`,
        );
      }
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
