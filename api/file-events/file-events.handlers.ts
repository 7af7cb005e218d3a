import { parseDuration } from '../../common/durations';
import { ApiError } from '../errors';
import { describeFile, loadFile } from '../files/file-lookup';
import type { AppRouteHandler } from '../types';
import { changeIdOf, parseChangeId } from './file-feed';
import type * as routes from './file-events.routes';
import { MAX_CATCH_UP, MAX_STREAM_MS, streamChanges } from './stream-changes';

function durationOf(value: string | undefined): number {
  return Math.min(value ? parseDuration(value, 's') : MAX_STREAM_MS, MAX_STREAM_MS);
}

/** Last-Event-ID must be one this API wrote: anything else is a 400, not a silent replay of nothing. */
function resumePoint(value: string | undefined) {
  if (value === undefined || value === '') return undefined;
  const point = parseChangeId(value);
  if (!point) throw new ApiError('invalid_request', 'last-event-id: not an event id this API sent');
  return point;
}

export const streamTenantEvents: AppRouteHandler<routes.StreamTenantEventsRoute> = async (c) => {
  const after = resumePoint(c.req.valid('header')['last-event-id']);
  const durationMs = durationOf(c.req.valid('query').duration);
  const { fileFeed, tenantId } = c.var;
  // streamSSE answers a plain Response, which the typed responses (modelled on JSON bodies) cannot name.
  return streamChanges(c, {
    durationMs,
    ...(after && { catchUp: () => fileFeed.changesAfter(tenantId, after, MAX_CATCH_UP) }),
  }) as never;
};

export const streamFileEvents: AppRouteHandler<routes.StreamFileEventsRoute> = async (c) => {
  resumePoint(c.req.valid('header')['last-event-id']);
  const durationMs = durationOf(c.req.valid('query').duration);
  const row = await loadFile(c, c.req.valid('param').id);
  // A one-file stream always starts with the file as it is now: that already covers whatever was missed.
  const file = await describeFile(c, row);
  return streamChanges(c, { durationMs, fileId: row.id, initial: { id: changeIdOf(row), file } }) as never;
};
