import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { FileState } from '../../common/domain';
import { statusQuery } from '../../common/messages';
import type { Config } from '../../config/env';
import type { Db } from '../../prisma/db';
import { listFilesChangedSince, listProcessingFiles, type FileRecord } from '../../prisma/file-records';
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
  /** How often the one poller looks (1 s by default). */
  intervalMs?: number;
}

/** How far back each look reaches past the newest change seen: writers' clocks and commits lag a little. */
const LOOKBACK_MS = 5_000;
/** Bounds one look, whatever the number of watchers: rows per look, live workflows per look. */
const MAX_CHANGED_ROWS = 500;
const MAX_LIVE_FILES = 50;
const STATUS_QUERY_TIMEOUT_MS = 2_000;

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
  /** How many looks the poller made: a figure for tests and benchmarks (flat in the number of watchers). */
  readonly looks: number;
  /** Aborted by close(): open streams end, so a stopping API is not held up by its watchers. */
  readonly closed: AbortSignal;
  close(): void;
}

/**
 * The one poller per API process behind every event stream. However many browsers watch, each look is
 * two Postgres queries (rows changed since the last look; the files still processing) and one status
 * query per processing file (bounded), fanned out to the subscribers of each tenant. Stream handlers
 * never touch Postgres on their own after their catch-up. It runs only while someone subscribes.
 *
 * Postgres has the outcome and retention changes (the workflow mirrors them into the row); the steps of a
 * file still processing live in its workflow, so for those the poller asks the workflow, as GET does.
 */
export function createFileFeed(options: FileFeedOptions): FileFeed {
  const { db, temporal, config, log } = options;
  const intervalMs = options.intervalMs ?? 1_000;
  const listeners = new Map<string, Set<FileChangeListener>>();
  /** Row versions already sent (file id → updatedAt ms), so the lookback window sends nothing twice. */
  const sentVersions = new Map<string, number>();
  /** What was last sent of each processing file's live state, to send its steps only when they move. */
  const sentLive = new Map<string, string>();
  let watermark = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let looking = false;
  let looks = 0;
  const closing = new AbortController();

  const emit = (change: FileChange) => {
    for (const listener of listeners.get(change.tenantId) ?? []) {
      try {
        listener(change);
      } catch (error) {
        log.warn({ err: error }, 'an event stream listener failed');
      }
    }
  };

  async function liveState(row: FileRecord): Promise<FileState | null> {
    try {
      const handle = temporal.workflow.getHandle(row.workflowId);
      const signal = AbortSignal.timeout(STATUS_QUERY_TIMEOUT_MS);
      return await temporal.withAbortSignal(signal, () => handle.query(statusQuery));
    } catch {
      return null; // no worker answered: the row's own view goes out when it changes
    }
  }

  async function look(): Promise<void> {
    const tenantIds = [...listeners.keys()];
    if (tenantIds.length === 0) return;
    looks += 1;
    const since = new Date(watermark - LOOKBACK_MS);
    const [changed, processing] = await Promise.all([
      listFilesChangedSince(db, tenantIds, since, MAX_CHANGED_ROWS),
      listProcessingFiles(db, tenantIds, MAX_LIVE_FILES),
    ]);
    for (const row of changed) {
      const version = row.updatedAt.getTime();
      watermark = Math.max(watermark, version);
      if (sentVersions.get(row.id) === version) continue;
      sentVersions.set(row.id, version);
      sentLive.delete(row.id);
      emit({ id: changeIdOf(row), tenantId: row.tenantId, file: toFileView(config, row) });
    }
    for (const [id, version] of sentVersions) if (version < watermark - 2 * LOOKBACK_MS) sentVersions.delete(id);

    const states = await Promise.all(processing.map(liveState));
    const stillProcessing = new Set<string>();
    processing.forEach((row, index) => {
      const state = states[index];
      stillProcessing.add(row.id);
      if (!state) return;
      const file = toFileView(config, row, state);
      const fingerprint = JSON.stringify([file.status, file.steps, file.renditions.length]);
      if (sentLive.get(row.id) === fingerprint) return;
      sentLive.set(row.id, fingerprint);
      emit({ id: changeIdOf(row), tenantId: row.tenantId, file });
    });
    for (const id of sentLive.keys()) if (!stillProcessing.has(id)) sentLive.delete(id);
  }

  const schedule = () => {
    timer = setTimeout(() => {
      if (looking) return schedule();
      looking = true;
      look()
        .catch((error: unknown) => log.warn({ err: error }, 'the event feed could not look; it tries again'))
        .finally(() => {
          looking = false;
          if (listeners.size > 0) schedule();
          else timer = undefined;
        });
    }, intervalMs);
    timer.unref();
  };

  return {
    subscribe(tenantId, listener) {
      let set = listeners.get(tenantId);
      if (!set) listeners.set(tenantId, (set = new Set()));
      set.add(listener);
      if (!timer && !looking) {
        // A feed that slept missed nothing anyone was watching: start from now.
        if (listeners.size === 1 && set.size === 1) watermark = Math.max(watermark, Date.now() - LOOKBACK_MS);
        schedule();
      }
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(tenantId);
        if (listeners.size === 0 && timer) {
          clearTimeout(timer);
          timer = undefined;
        }
      };
    },
    async changesAfter(tenantId, after, limit) {
      const rows = await listFilesChangedSince(db, [tenantId], after.updatedAt, limit + 50);
      return rows
        .filter((row) => row.updatedAt.getTime() > after.updatedAt.getTime() || row.id > after.id)
        .slice(0, limit)
        .map((row) => ({ id: changeIdOf(row), tenantId, file: toFileView(config, row) }));
    },
    get looks() {
      return looks;
    },
    closed: closing.signal,
    close() {
      closing.abort();
      listeners.clear();
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
