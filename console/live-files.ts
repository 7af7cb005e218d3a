import { fetchEventSource } from '@microsoft/fetch-event-source';
import { authHeaders } from './api-client';
import type { FileView } from './types';

type Listener = (file: FileView) => void;

const listeners = new Set<Listener>();
let controller: AbortController | undefined;

class Unauthorized extends Error {}

/**
 * One Server-Sent Events stream of the tenant's file changes (GET /v1/events/stream) for the whole
 * console, read with fetch so the key goes in the Authorization header (EventSource cannot send one).
 * fetch-event-source reconnects with Last-Event-ID after a drop, so nothing is missed.
 */
function start(): void {
  controller = new AbortController();
  void fetchEventSource('/v1/events/stream', {
    headers: authHeaders(),
    signal: controller.signal,
    openWhenHidden: true,
    async onopen(res) {
      if (res.status === 401) throw new Unauthorized();
      if (!res.ok) throw new Error(`event stream answered ${res.status}`);
    },
    onmessage(message) {
      if (message.event !== 'file') return;
      const file = JSON.parse(message.data) as FileView;
      for (const listener of listeners) listener(file);
    },
    onerror(error) {
      if (error instanceof Unauthorized) throw error; // stop: signing in again starts a new stream
      return 2_000; // otherwise retry in 2 s, resuming after the last event
    },
  }).catch(() => undefined);
}

/** Calls `listener` with every file change until the result is called. */
export function watchFiles(listener: Listener): () => void {
  listeners.add(listener);
  if (!controller) start();
  return () => listeners.delete(listener);
}

export function stopWatching(): void {
  controller?.abort();
  controller = undefined;
  listeners.clear();
}
