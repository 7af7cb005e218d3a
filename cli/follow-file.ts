import type { FileView } from '../api/file-view';
import { jsonOf, type Connection } from './api-client';
import { ApiError, CliError, UnreachableError } from './errors';

/** The longest one long-poll asks for; the API holds a GET at most 60 s. */
const LONG_POLL_MS = 30_000;

export interface FollowOptions {
  timeoutMs: number;
  /** Each view as it arrives (a step started, the outcome). */
  onUpdate?: (file: FileView) => void;
  signal?: AbortSignal;
}

/**
 * Follows a file to its outcome with the API's long-poll (`GET /v1/files/{id}?wait=30s`); returns the
 * last view, PROCESSING still if the timeout passed first. A 429 or 503 on the way (busy API, Redis
 * down) waits for Retry-After and asks again within the same deadline.
 */
export async function followFile(connection: Connection, id: string, options: FollowOptions): Promise<FileView> {
  const deadline = Date.now() + options.timeoutMs;
  let last: FileView | undefined;
  for (;;) {
    const remaining = deadline - Date.now();
    const waitSeconds = Math.max(0, Math.min(LONG_POLL_MS, remaining) / 1000);
    try {
      last = await jsonOf(
        connection.api.v1.files[':id'].$get(
          { param: { id }, query: { wait: `${Math.floor(waitSeconds)}s` } },
          options.signal ? { init: { signal: options.signal } } : undefined,
        ),
      );
      options.onUpdate?.(last);
      if (last.status !== 'PROCESSING' || Date.now() >= deadline) return last;
    } catch (error) {
      const transient =
        error instanceof UnreachableError || (error instanceof ApiError && [429, 502, 503, 504].includes(error.status));
      if (!transient || Date.now() >= deadline) throw error;
      await pause(retryAfterMs(error), options.signal);
    }
    if (options.signal?.aborted) throw new CliError('interrupted');
  }
}

function retryAfterMs(error: unknown): number {
  if (error instanceof ApiError && error.retryAfterSeconds !== null) return error.retryAfterSeconds * 1_000;
  return 1_000;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
