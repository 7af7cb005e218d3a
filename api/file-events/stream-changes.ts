import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { FileView } from '../file-view';
import type { AppEnv } from '../types';
import type { FileChange } from './file-feed';

/** Proxies close streams idle for about a minute; a comment every 15 s keeps this one open. */
export const HEARTBEAT_MS = 15_000;
/** Streams end after this (the client reconnects with Last-Event-ID), so no connection lives forever. */
export const MAX_STREAM_MS = 10 * 60_000;
/** The most changes a resumed stream replays before going live. */
export const MAX_CATCH_UP = 500;
/** What EventSource-compatible clients wait before reconnecting. */
const RETRY_MS = 2_000;

export interface StreamOptions {
  /** Only this file's changes (GET /v1/files/{id}/events); otherwise every file of the tenant. */
  fileId?: string;
  /** Sent before any change: the file as it is now, for a one-file stream. */
  initial?: { id: string; file: FileView };
  /** Changes to send first, for a stream resumed with Last-Event-ID. */
  catchUp?: () => Promise<FileChange[]>;
  durationMs: number;
}

const send = (stream: SSEStreamingApi, change: { id: string; file: FileView }) =>
  stream.writeSSE({ event: 'file', id: change.id, data: JSON.stringify(change.file) });

/**
 * Streams a tenant's file changes from the process's shared feed as Server-Sent Events. It subscribes
 * before the catch-up query, so nothing falls between the two (a change may come twice; events are
 * whole file views, so a repeat is harmless).
 */
export function streamChanges(c: Context<AppEnv>, options: StreamOptions): Response {
  const { tenantId, fileFeed } = c.var;
  // Buffering proxies (nginx) would hold events back; this asks them not to.
  c.header('X-Accel-Buffering', 'no');
  c.header('Cache-Control', 'no-store');
  return streamSSE(c, async (stream) => {
    const queue: FileChange[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = fileFeed.subscribe(tenantId, (change) => {
      if (options.fileId && change.file.id !== options.fileId) return;
      queue.push(change);
      wake?.();
    });
    let closed = false;
    const end = () => {
      closed = true;
      wake?.();
    };
    stream.onAbort(end);
    if (fileFeed.closed.aborted) end();
    else fileFeed.closed.addEventListener('abort', end, { once: true });
    try {
      await stream.write(`retry: ${RETRY_MS}\n\n`);
      if (options.initial) await send(stream, options.initial);
      for (const change of (await options.catchUp?.()) ?? []) await send(stream, change);
      const deadline = Date.now() + options.durationMs;
      while (!closed && Date.now() < deadline) {
        if (queue.length === 0) {
          const waitMs = Math.min(HEARTBEAT_MS, deadline - Date.now());
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, waitMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        if (closed) break;
        if (queue.length === 0) await stream.write(': heartbeat\n\n');
        while (queue.length > 0) await send(stream, queue.shift()!);
      }
    } finally {
      fileFeed.closed.removeEventListener('abort', end);
      unsubscribe();
    }
  });
}
