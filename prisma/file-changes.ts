import pg from 'pg';
import type { Logger } from 'pino';

/** The channel the File table's trigger notifies (migration 20261226100000_file_change_notify). */
export const FILE_CHANGE_CHANNEL = 'intake_file';
const RECONNECT_MS = { first: 100, max: 5_000 };

/** Why a waiter was woken: its file changed, or the feed lost track (reconnect) or is closing. */
export type WakeReason = 'changed' | 'resync' | 'closing';
export type FileChangeWaiter = (reason: WakeReason) => void;

export interface FileChanges {
  /**
   * Calls `waiter` whenever file `tenantId:id` changes, and also on a reconnect of the listener (a
   * change may have gone unheard) and on close. Subscribe first, then read: nothing falls between.
   */
  subscribe(tenantId: string, id: string, waiter: FileChangeWaiter): () => void;
  /** Calls `listener` with every change of any file: the event feed's wake-up. Same extra wakes. */
  subscribeAll(listener: (tenantId: string, id: string, reason: WakeReason) => void): () => void;
  /** Aborted by close(): long-polls answer with what they have, so a stopping API drops none. */
  readonly closed: AbortSignal;
  /** Figures for tests and benchmarks: notifications heard, connections made. */
  readonly stats: { notifications: number; connections: number; waiters: number };
  /** Resolves once LISTEN is in place (tests wait for it before changing rows). */
  listening(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One Postgres connection per API process LISTENs for file changes and fans each one out to the
 * waiters of that file, so a thousand long-polls cost one idle connection, not a thousand timers
 * re-reading the row. When the connection drops, every waiter is woken to re-read (a NOTIFY sent while
 * nobody listened is lost) and the listener reconnects with backoff.
 */
export function createFileChanges(options: { databaseUrl: string; log: Logger }): FileChanges {
  const { databaseUrl, log } = options;
  const waiters = new Map<string, Set<FileChangeWaiter>>();
  const allListeners = new Set<(tenantId: string, id: string, reason: WakeReason) => void>();
  const closing = new AbortController();
  const stats = { notifications: 0, connections: 0, waiters: 0 };
  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let backoff = RECONNECT_MS.first;
  let ready!: () => void;
  let readyPromise = new Promise<void>((resolve) => (ready = resolve));

  const wakeAll = (reason: WakeReason) => {
    for (const set of waiters.values()) for (const waiter of [...set]) waiter(reason);
    for (const listener of [...allListeners]) listener('', '', reason);
  };

  const onNotification = (message: pg.Notification) => {
    if (message.channel !== FILE_CHANGE_CHANNEL || !message.payload) return;
    stats.notifications += 1;
    const at = message.payload.indexOf(':');
    const tenantId = message.payload.slice(0, at);
    const id = message.payload.slice(at + 1);
    for (const waiter of [...(waiters.get(message.payload) ?? [])]) waiter('changed');
    for (const listener of [...allListeners]) listener(tenantId, id, 'changed');
  };

  const lost = (error: unknown) => {
    const dead = client;
    client = undefined;
    if (dead) {
      dead.removeAllListeners('notification');
      dead.on('error', () => {});
      void dead.end().catch(() => {});
    }
    if (closing.signal.aborted) return;
    log.warn({ err: error }, 'file change listener lost its connection; waiters re-read, it reconnects');
    readyPromise = new Promise<void>((resolve) => (ready = resolve));
    wakeAll('resync');
    retryTimer = setTimeout(connect, backoff);
    retryTimer.unref();
    backoff = Math.min(backoff * 2, RECONNECT_MS.max);
  };

  async function connect(): Promise<void> {
    retryTimer = undefined;
    if (closing.signal.aborted) return;
    const next = new pg.Client({ connectionString: databaseUrl, application_name: 'intake-file-changes' });
    client = next;
    next.on('error', (error) => lost(error));
    next.on('end', () => {
      if (client === next) lost(new Error('connection ended'));
    });
    next.on('notification', onNotification);
    try {
      await next.connect();
      await next.query(`LISTEN ${FILE_CHANGE_CHANNEL}`);
    } catch (error) {
      if (client === next) lost(error);
      return;
    }
    if (client !== next) return;
    stats.connections += 1;
    backoff = RECONNECT_MS.first;
    // Whatever changed before LISTEN took hold went unheard: every waiter reads once more.
    if (stats.connections > 1) wakeAll('resync');
    ready();
  }
  void connect();

  return {
    subscribe(tenantId, id, waiter) {
      const key = `${tenantId}:${id}`;
      let set = waiters.get(key);
      if (!set) waiters.set(key, (set = new Set()));
      set.add(waiter);
      stats.waiters += 1;
      return () => {
        if (!set.delete(waiter)) return;
        stats.waiters -= 1;
        if (set.size === 0) waiters.delete(key);
      };
    },
    subscribeAll(listener) {
      allListeners.add(listener);
      return () => allListeners.delete(listener);
    },
    closed: closing.signal,
    stats,
    listening: () => readyPromise,
    async close() {
      if (closing.signal.aborted) return;
      closing.abort();
      if (retryTimer) clearTimeout(retryTimer);
      wakeAll('closing');
      const last = client;
      client = undefined;
      if (last) {
        last.removeAllListeners('notification');
        last.removeAllListeners('end');
        await last.end().catch(() => {});
      }
    },
  };
}
