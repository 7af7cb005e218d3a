import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { FileState } from '../../common/domain';
import { statusQuery } from '../../common/messages';
import type { Config } from '../../config/env';
import type { Db } from '../../prisma/db';
import type { FileChanges } from '../../prisma/file-changes';
import {
  listFilesByIds,
  listFilesChangedAfter,
  listFilesChangedSince,
  listProcessingFiles,
  type FileRecord,
} from '../../prisma/file-records';
import { toFileView, type FileView } from '../file-view';

/**
 * One change to a file, as a Server-Sent Event carries it. `id` is `<updatedAt ms>_<file id>` of the row
 * version the view reflects: a stream resumed with it as Last-Event-ID replays every row changed after.
 */
export interface FileChange {
  id: string;
  tenantId: string;
  file: FileView;
}

export type FileChangeListener = (change: FileChange) => void;

export interface FileFeedOptions {
  db: Db;
  temporal: Client;
  config: Config;
  log: Logger;
  /**
   * The process's one LISTEN connection (prisma/file-changes.ts). With it the feed reads a row only when
   * Postgres says it changed; without it (an app built around fakes) it re-reads every `intervalMs`.
   */
  changes?: FileChanges | undefined;
  /** How often running files' steps are asked of their workflows, and, without a listener, rows re-read (1 s). */
  intervalMs?: number;
  /** With a listener: the slow safety re-check of changed rows (30 s by default). */
  recheckMs?: number;
}

/** How far back a re-check reaches past the previous one: writers' clocks and commits lag a little. */
const LOOKBACK_MS = 5_000;
/** Rows per page of a re-check, and pages per re-check (the rest waits for the next one). */
const PAGE_ROWS = 500;
const MAX_PAGES = 10;
/** Live workflows asked per tick, whatever the number of watchers or of files processing. */
const MAX_LIVE_FILES = 50;
const STATUS_QUERY_TIMEOUT_MS = 2_000;
/** A workflow that did not answer (its worker is down) is asked again later and later, up to this. */
const MAX_UNANSWERED_BACKOFF_MS = 30_000;
/** Bounds the memory of what was sent: a forgotten version only risks a repeated (harmless) event. */
const MAX_REMEMBERED = 10_000;
const MAX_PROCESSING = 1_000;
/** After a failed read, the feed tries again this soon rather than waiting for the next re-check. */
const RETRY_MS = 1_000;

export const changeIdOf = (row: Pick<FileRecord, 'id' | 'updatedAt'>) => `${row.updatedAt.getTime()}_${row.id}`;

/** Last-Event-ID back into (updatedAt, id), or undefined when it is not one this feed wrote. */
export function parseChangeId(value: string | undefined): { updatedAt: Date; id: string } | undefined {
  const match = value ? /^(\d{1,15})_([A-Za-z0-9_-]{1,64})$/.exec(value) : null;
  if (!match) return undefined;
  return { updatedAt: new Date(Number(match[1])), id: match[2]! };
}

export interface FileFeed {
  /** Calls `listener` with every change to `tenantId`'s files from now on; the result unsubscribes. */
  subscribe(tenantId: string, listener: FileChangeListener): () => void;
  /** The changes to a tenant's files after `after` (at most `limit`), oldest first: a resumed stream's catch-up. */
  changesAfter(tenantId: string, after: { updatedAt: Date; id: string }, limit: number): Promise<FileChange[]>;
  /** How many Postgres queries the feed made: a figure for tests and benchmarks (flat in the number of watchers). */
  readonly reads: number;
  /** Aborted by close(): open streams end, so a stopping API is not held up by its watchers. */
  readonly closed: AbortSignal;
  close(): void;
}

/** A Map used as a bounded memory: the oldest entry goes when it is full. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number) {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}

/**
 * The one feed per API process behind every event stream. With the Postgres listener it reads nothing
 * while nothing changes: a NOTIFY from the File trigger names the row, the feed reads the rows of the
 * notifications that arrived meanwhile (one query, for tenants someone watches) and fans each out to
 * that tenant's streams. When the listener reconnects it re-reads once from where the last re-check
 * stood, so a change committed while nobody listened still goes out; a slow safety re-check (30 s)
 * covers row changes the trigger does not announce. Stream handlers never touch Postgres on their own
 * after their catch-up, and the feed runs only while someone subscribes.
 *
 * The steps of a file still processing live in its workflow (it writes its row at the outcome), so for
 * those the feed asks the workflow once a second, as GET does: a Temporal query, not a Postgres one.
 */
export function createFileFeed(options: FileFeedOptions): FileFeed {
  const { db, temporal, config, log, changes } = options;
  const intervalMs = options.intervalMs ?? 1_000;
  const recheckMs = changes ? (options.recheckMs ?? 30_000) : intervalMs;
  const listeners = new Map<string, Set<FileChangeListener>>();
  /**
   * What was last sent of each row (file id → a digest of its view), so overlapping reads send nothing
   * twice. The view, not `updatedAt`: a writer that changes a column without touching `updatedAt` (plain
   * SQL) still notifies, and its change must go out.
   */
  const sentViews = new Map<string, string>();
  /** Rows of the watched tenants' files still processing: whose steps the workflow is asked for. */
  const processing = new Map<string, FileRecord>();
  /** What was last sent of each processing file's live state, to send its steps only when they move. */
  const sentLive = new Map<string, string>();
  /** Workflows that did not answer: how often in a row, and when to ask them again (file id →). */
  const unanswered = new Map<string, { misses: number; askAt: number }>();
  /** Notified files not read yet (file id → tenant). */
  const pending = new Map<string, string>();
  /** When each watched tenant's first watcher came: a re-check sends nothing older than that. */
  const watchedSince = new Map<string, number>();
  /** Tenants whose processing files are still to be read (their first watcher just came). */
  const unseeded = new Set<string>();
  /** Where the last re-check started: the next reads from a little before it. */
  let checkedAt = Date.now();
  let reads = 0;
  let flushQueued = false;
  let recheckGeneration = 0;
  let asking = false;
  let resyncWait: Promise<void> | undefined;
  let recheckTimer: NodeJS.Timeout | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  /** Postgres reads run one after another, so events go out in the order the rows were read. */
  let chain = Promise.resolve();
  const closing = new AbortController();

  const active = () => listeners.size > 0 && !closing.signal.aborted;
  const watched = () => [...listeners.keys()];
  const enqueue = (what: string, task: () => Promise<void>, onError?: () => void) => {
    chain = chain
      .then(() => (active() ? task() : undefined))
      .catch((error: unknown) => {
        log.warn({ err: error }, `the event feed could not ${what}; it tries again`);
        onError?.();
      });
  };
  const read = <T>(query: Promise<T>) => {
    reads += 1;
    return query;
  };

  const emit = (change: FileChange) => {
    for (const listener of listeners.get(change.tenantId) ?? []) {
      try {
        listener(change);
      } catch (error) {
        log.warn({ err: error }, 'an event stream listener failed');
      }
    }
  };

  /**
   * A row just read: remembered as processing or not, and sent unless this view already was. A row a
   * re-check finds that changed before the tenant was watched is history, not news; a notified one is news.
   */
  const take = (row: FileRecord, notified: boolean) => {
    if (!listeners.has(row.tenantId)) return;
    if (row.status === 'PROCESSING') remember(processing, row.id, row, MAX_PROCESSING);
    else {
      processing.delete(row.id);
      unanswered.delete(row.id);
    }
    const file = toFileView(config, row);
    const digest = createHash('sha1').update(JSON.stringify(file)).digest('base64');
    const sent = sentViews.get(row.id);
    if (sent === digest) return;
    const history = row.updatedAt.getTime() < (watchedSince.get(row.tenantId) ?? 0) - LOOKBACK_MS;
    if (!notified && sent === undefined && history) return;
    remember(sentViews, row.id, digest, MAX_REMEMBERED);
    sentLive.delete(row.id);
    emit({ id: changeIdOf(row), tenantId: row.tenantId, file });
  };

  const retrySoon = () => {
    if (retryTimer || !active()) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (pending.size > 0) queueFlush();
      if (unseeded.size > 0) queueSeed();
    }, RETRY_MS);
    retryTimer.unref();
  };

  /** Reads every notified row at once: notifications arriving during a read wait for the next one. */
  function queueFlush() {
    if (flushQueued) return;
    flushQueued = true;
    let batch: [string, string][] = [];
    enqueue(
      'read the changed files',
      async () => {
        flushQueued = false;
        batch = [...pending].filter(([, tenantId]) => listeners.has(tenantId));
        pending.clear();
        if (batch.length === 0) return;
        const tenantIds = [...new Set(batch.map(([, tenantId]) => tenantId))];
        const ids = batch.map(([id]) => id);
        const rows = await read(listFilesByIds(db, tenantIds, ids));
        for (const row of rows) take(row, true);
      },
      () => {
        flushQueued = false;
        for (const [id, tenantId] of batch) if (!pending.has(id)) pending.set(id, tenantId);
        retrySoon();
      },
    );
  }

  /** The files already processing when a tenant's first watcher came: their steps are live from now. */
  function queueSeed() {
    enqueue("read the tenants' processing files", async () => {
      const tenantIds = [...unseeded].filter((tenantId) => listeners.has(tenantId));
      unseeded.clear();
      if (tenantIds.length === 0) return;
      try {
        for (const row of await read(listProcessingFiles(db, tenantIds, MAX_LIVE_FILES))) {
          if (!processing.has(row.id)) remember(processing, row.id, row, MAX_PROCESSING);
        }
      } catch (error) {
        for (const tenantId of tenantIds) unseeded.add(tenantId);
        retrySoon();
        throw error;
      }
    });
  }

  /** Every watched row changed since a little before the previous re-check, page by page; true if more wait. */
  async function recheck(): Promise<boolean> {
    const startedAt = Date.now();
    let after = { updatedAt: new Date(checkedAt - LOOKBACK_MS), id: '' };
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const rows = await read(listFilesChangedAfter(db, watched(), after, PAGE_ROWS));
      for (const row of rows) take(row, false);
      const last = rows.at(-1);
      if (rows.length < PAGE_ROWS || !last) {
        checkedAt = startedAt;
        return false;
      }
      after = { updatedAt: last.updatedAt, id: last.id };
    }
    // Too many changes for one re-check: the next one, soon, starts at the last row read.
    checkedAt = after.updatedAt.getTime() + LOOKBACK_MS;
    return true;
  }

  /** The latest schedule wins: a resync's re-check replaces the timer, and only it reschedules. */
  function scheduleRecheck(delayMs: number) {
    const generation = (recheckGeneration += 1);
    if (recheckTimer) clearTimeout(recheckTimer);
    recheckTimer = undefined;
    if (!active()) return;
    recheckTimer = setTimeout(() => {
      recheckTimer = undefined;
      let soon = false;
      const task = async () => {
        soon = await recheck();
      };
      enqueue('re-check the changed files', task, () => (soon = true));
      void chain.then(() => {
        if (generation === recheckGeneration) scheduleRecheck(soon ? RETRY_MS : recheckMs);
      });
    }, delayMs);
    recheckTimer.unref();
  }

  /** A NOTIFY may have gone unheard: once the listener is back, re-check once from the last position. */
  function resync() {
    if (!changes) return;
    const waitFor = changes.listening();
    resyncWait = waitFor;
    void waitFor.then(() => {
      if (resyncWait !== waitFor) return;
      resyncWait = undefined;
      if (active()) scheduleRecheck(0);
    });
  }

  async function liveState(row: FileRecord): Promise<FileState | null> {
    try {
      const handle = temporal.workflow.getHandle(row.workflowId);
      const signal = AbortSignal.timeout(STATUS_QUERY_TIMEOUT_MS);
      return await temporal.withAbortSignal(signal, () => handle.query(statusQuery));
    } catch {
      return null; // no worker answered: the row's own view goes out when it changes
    }
  }

  /** Asks the newest processing workflows for their steps; sends those whose steps moved. */
  async function askWorkflows(): Promise<void> {
    const now = Date.now();
    const rows = [...processing.values()]
      .filter((row) => listeners.has(row.tenantId) && (unanswered.get(row.id)?.askAt ?? 0) <= now)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .slice(0, MAX_LIVE_FILES);
    const states = await Promise.all(rows.map(liveState));
    rows.forEach((row, index) => {
      const state = states[index];
      if (!state) {
        // With its worker down, asking every second would only spend the API's CPU on timeouts.
        const misses = (unanswered.get(row.id)?.misses ?? 0) + 1;
        const delayMs = Math.min(intervalMs * 2 ** misses, MAX_UNANSWERED_BACKOFF_MS);
        remember(unanswered, row.id, { misses, askAt: Date.now() + delayMs }, MAX_PROCESSING);
        return;
      }
      unanswered.delete(row.id);
      // The row may have moved on (an outcome read meanwhile): its own event already went out.
      if (processing.get(row.id) !== row) return;
      const file = toFileView(config, row, state);
      const fingerprint = JSON.stringify([file.status, file.steps, file.renditions.length]);
      if (sentLive.get(row.id) === fingerprint) return;
      remember(sentLive, row.id, fingerprint, MAX_PROCESSING);
      emit({ id: changeIdOf(row), tenantId: row.tenantId, file });
    });
  }

  function scheduleTick() {
    tickTimer = setTimeout(() => {
      tickTimer = undefined;
      if (!active()) return;
      if (asking || processing.size === 0) return scheduleTick();
      asking = true;
      askWorkflows()
        .catch((error: unknown) => log.warn({ err: error }, 'the event feed could not ask the workflows'))
        .finally(() => {
          asking = false;
          if (active()) scheduleTick();
        });
    }, intervalMs);
    tickTimer.unref();
  }

  function start() {
    // A feed that slept missed nothing anyone was watching: start from now.
    checkedAt = Date.now();
    scheduleTick();
    // Without a listener the re-check is the poll. With one, a first re-check as soon as it listens
    // covers one not connected yet; the slow safety re-check runs even while it cannot reconnect.
    scheduleRecheck(recheckMs);
    resync();
  }

  function stop() {
    for (const timer of [recheckTimer, tickTimer, retryTimer]) if (timer) clearTimeout(timer);
    recheckTimer = tickTimer = retryTimer = undefined;
    resyncWait = undefined;
    recheckGeneration += 1;
    flushQueued = false;
    processing.clear();
    sentLive.clear();
    unanswered.clear();
    pending.clear();
    unseeded.clear();
  }

  const unsubscribeChanges = changes?.subscribeAll((tenantId, id, reason) => {
    if (!active()) return;
    if (reason === 'resync') return resync();
    if (reason !== 'changed' || !listeners.has(tenantId)) return;
    pending.set(id, tenantId);
    queueFlush();
  });

  return {
    subscribe(tenantId, listener) {
      if (closing.signal.aborted) return () => {};
      const first = listeners.size === 0;
      let set = listeners.get(tenantId);
      if (!set) {
        listeners.set(tenantId, (set = new Set()));
        watchedSince.set(tenantId, Date.now());
        unseeded.add(tenantId);
        queueSeed();
      }
      set.add(listener);
      if (first) start();
      return () => {
        if (!set.delete(listener) || set.size > 0) return;
        listeners.delete(tenantId);
        watchedSince.delete(tenantId);
        unseeded.delete(tenantId);
        for (const [id, row] of processing) {
          if (row.tenantId === tenantId) {
            processing.delete(id);
            sentLive.delete(id);
            unanswered.delete(id);
          }
        }
        if (listeners.size === 0) stop();
      };
    },
    async changesAfter(tenantId, after, limit) {
      const rows = await read(listFilesChangedSince(db, [tenantId], after.updatedAt, limit + 50));
      return rows
        .filter((row) => row.updatedAt.getTime() > after.updatedAt.getTime() || row.id > after.id)
        .slice(0, limit)
        .map((row) => ({ id: changeIdOf(row), tenantId, file: toFileView(config, row) }));
    },
    get reads() {
      return reads;
    },
    closed: closing.signal,
    close() {
      closing.abort();
      unsubscribeChanges?.();
      listeners.clear();
      watchedSince.clear();
      stop();
    },
  };
}
