import { createRoute, z } from '@hono/zod-openapi';
import { BEARER_SECURITY, errorResponses } from '../errors';
import { FileIdParam } from '../files/files.routes';
import { DURATION_PATTERN } from '../../common/durations';

/* The Server-Sent Events streams of file changes: the tenant's, and one file's. */

const StreamHeaders = z.object({
  'last-event-id': z
    .string()
    .max(100)
    // The shape of the ids this API writes (<updatedAt ms>_<file id>), so a client knows a foreign one is a 400.
    .regex(/^(\d{1,15}_[A-Za-z0-9_-]{1,64})?$/, 'not an event id this API sent')
    .optional()
    .openapi({ description: "The last event's id: the stream resumes after it", example: '1796212800000_f_3kq7…' }),
});
const StreamQuery = z.object({
  duration: z.string().max(16).regex(DURATION_PATTERN, 'must be a duration such as 30s').optional().openapi({
    description: 'How long the server keeps the stream open (default and most 10m); then reconnect with Last-Event-ID',
    example: '10m',
  }),
});
const SSE_EVENT = z
  .object({
    event: z.literal('file').optional(),
    id: z
      .string()
      .optional()
      .openapi({ description: '<updatedAt ms>_<file id>: send it back as Last-Event-ID to resume' }),
    data: z.string().optional().openapi({ description: 'The File (GET /v1/files/{id}) as JSON' }),
    retry: z.number().int().optional().openapi({ description: 'Milliseconds to wait before reconnecting' }),
  })
  .openapi('FileChangeEvent');
const eventStream = (what: string) =>
  ({
    200: {
      description:
        `${what} as \`text/event-stream\`: each event is \`event: file\`, \`id: <updatedAt ms>_<file id>\` and ` +
        '`data:` the file as GET /v1/files/{id} shows it (status, steps, renditions). A `: heartbeat` comment ' +
        'every 15 s keeps proxies from closing the stream.',
      // Each event as SSE readers (and schemathesis) parse it: its fields, not the raw text.
      content: { 'text/event-stream': { schema: SSE_EVENT } },
    },
  }) as const;

export const streamTenantEvents = createRoute({
  method: 'get',
  path: '/stream',
  summary: "Every change to the tenant's files, live (Server-Sent Events)",
  description:
    'A new file, each step of a file processing, its outcome, a retention change, a deletion. With `Last-Event-ID` ' +
    'the changes since that event are sent first (up to 500). Authenticated with `Authorization: Bearer` like ' +
    'every /v1 route: use a fetch-based client (browsers cannot set headers on `EventSource`). Example: ' +
    '`curl -N -H "Authorization: Bearer $KEY" http://localhost:3000/v1/events/stream`',
  security: BEARER_SECURITY,
  request: { headers: StreamHeaders, query: StreamQuery },
  responses: { ...eventStream('The changes'), ...errorResponses(400, 401) },
});
export type StreamTenantEventsRoute = typeof streamTenantEvents;

export const streamFileEvents = createRoute({
  method: 'get',
  path: '/{id}/events',
  summary: "One file's changes, live (Server-Sent Events)",
  description:
    'The file as it is now, then every change to it (steps, outcome, retention, deletion). ' +
    '`curl -N -H "Authorization: Bearer $KEY" http://localhost:3000/v1/files/f_…/events`',
  security: BEARER_SECURITY,
  request: {
    params: FileIdParam,
    headers: StreamHeaders,
    query: StreamQuery,
  },
  responses: { ...eventStream("The file's changes"), ...errorResponses(400, 401, 404) },
});
export type StreamFileEventsRoute = typeof streamFileEvents;
