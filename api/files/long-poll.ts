import type { Context } from 'hono';
import { parseDuration } from '../../common/durations';
import type { FileChanges } from '../../prisma/file-changes';
import type { FileView } from '../file-view';
import type { AppEnv } from '../types';
import { describeFile, loadFile, QUERY_TIMEOUT_MS } from './file-lookup';

/** The longest a GET may long-poll. */
export const MAX_WAIT_MS = 60_000;
/** Only without a change listener (an app built around fakes) does a long-poll look again on a timer. */
const POLL_INTERVAL_MS = 500;

/** `?wait=`: a bare number counts seconds, as long-poll parameters usually do (`?wait=30`), not milliseconds. */
export function waitMsOf(wait: string | undefined): number {
  return Math.min(wait ? parseDuration(wait, 's') : 0, MAX_WAIT_MS);
}

export interface SettleOptions<T> {
  changes: FileChanges;
  tenantId: string;
  id: string;
  read: () => Promise<T>;
  settled: (value: T) => boolean;
  deadline: number;
  signal?: AbortSignal | undefined;
}

/**
 * Reads, then sleeps until the file's change notification (or a listener resync, or shutdown), the
 * deadline or the client leaving, and reads again: no read happens while nothing changes. It subscribes
 * before the first read, so a change between the two still wakes it. On shutdown it answers what it
 * read after the wake, a normal 200 the client can repeat against another API process.
 */
export async function settleOnChange<T>(options: SettleOptions<T>): Promise<T> {
  const { changes, signal, deadline } = options;
  let woken = false;
  let wake: (() => void) | undefined;
  const unsubscribe = changes.subscribe(options.tenantId, options.id, () => {
    woken = true;
    wake?.();
  });
  try {
    let value = await options.read();
    while (!options.settled(value) && !changes.closed.aborted && !signal?.aborted && Date.now() < deadline) {
      if (!woken) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = undefined;
            resolve();
          };
          const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
          wake = done;
          signal?.addEventListener('abort', done, { once: true });
        });
      }
      if (signal?.aborted) break;
      woken = false;
      value = await options.read();
    }
    return value;
  } finally {
    unsubscribe();
  }
}

/**
 * Describes the file, waiting until it leaves PROCESSING, `waitMs` passes, the client goes away or the
 * API stops. With no wait it describes the file once.
 */
export async function describeFileWhenSettled(c: Context<AppEnv>, id: string, waitMs: number): Promise<FileView> {
  const deadline = Date.now() + waitMs;
  // The status queries share the wait's budget: a silent worker must not stretch the answer past it.
  const queryBudget = () => (waitMs > 0 ? Math.min(QUERY_TIMEOUT_MS, deadline - Date.now()) : QUERY_TIMEOUT_MS);
  const read = async () => describeFile(c, await loadFile(c, id), queryBudget());
  const settled = (view: FileView) => view.status !== 'PROCESSING';
  const signal = c.req.raw.signal;
  const changes = c.var.fileChanges;
  if (waitMs <= 0) return read();
  if (changes) return settleOnChange({ changes, tenantId: c.var.tenantId, id, read, settled, deadline, signal });
  let view = await read();
  while (!settled(view) && Date.now() < deadline && !signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL_MS, deadline - Date.now())));
    view = await read();
  }
  return view;
}
