import type { Context } from 'hono';
import { parseDuration } from '../../common/durations';
import type { FileView } from '../file-view';
import type { AppEnv } from '../types';
import { describeFile, loadFile, QUERY_TIMEOUT_MS } from './file-lookup';

/** The longest a GET may long-poll, and how often it looks again meanwhile. */
export const MAX_WAIT_MS = 60_000;
const POLL_INTERVAL_MS = 500;

/** `?wait=`: a bare number counts seconds, as long-poll parameters usually do (`?wait=30`), not milliseconds. */
export function waitMsOf(wait: string | undefined): number {
  return Math.min(wait ? parseDuration(wait, 's') : 0, MAX_WAIT_MS);
}

/**
 * Describes the file, looking again until it leaves PROCESSING, `waitMs` passes or the client goes
 * away. With no wait it describes the file once.
 */
export async function describeFileWhenSettled(c: Context<AppEnv>, id: string, waitMs: number): Promise<FileView> {
  const deadline = Date.now() + waitMs;
  // The status queries share the wait's budget: a silent worker must not stretch the answer past it.
  const queryBudget = () => (waitMs > 0 ? Math.min(QUERY_TIMEOUT_MS, deadline - Date.now()) : QUERY_TIMEOUT_MS);
  let row = await loadFile(c, id);
  let view = await describeFile(c, row, queryBudget());
  const signal = c.req.raw.signal;
  while (view.status === 'PROCESSING' && Date.now() < deadline && !signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL_MS, deadline - Date.now())));
    row = await loadFile(c, id);
    view = await describeFile(c, row, queryBudget());
  }
  return view;
}
