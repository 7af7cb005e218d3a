import { createRoute, z } from '@hono/zod-openapi';
import { TENANT_EVENT_TYPES, type TenantEventType } from '../../prisma/events';
import { BEARER_SECURITY, errorResponses } from '../errors';

const EventSchema = z
  .object({
    id: z.string().openapi({ example: 'evt_k2m7…' }),
    type: z.enum(TENANT_EVENT_TYPES as unknown as [TenantEventType, ...TenantEventType[]]),
    createdAt: z.string(),
    data: z
      .object({
        webhookId: z.string(),
        url: z.string().openapi({ description: "The endpoint's URL, its query redacted" }),
        reason: z.string().openapi({ example: 'failed continuously for 5d (until 2026-12-07T10:00:00.000Z)' }),
      })
      .openapi({ description: 'For webhook.disabled: which endpoint, and why' }),
  })
  .openapi('TenantEvent');

export type TenantEventView = z.infer<typeof EventSchema>;

export const listEvents = createRoute({
  method: 'get',
  path: '/',
  summary: 'What happened to your resources that no webhook can tell you, newest first',
  description:
    'webhook.disabled: an endpoint answered 410 Gone, or its every attempt failed for ' +
    'INTAKE_WEBHOOK_DISABLE_AFTER (5 days by default); nothing is sent to it until POST /v1/webhooks/{id}/enable.',
  security: BEARER_SECURITY,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(500).optional().openapi({ description: 'nextCursor from the previous page' }),
    }),
  },
  responses: {
    200: {
      description: 'A page of events',
      content: {
        'application/json': {
          schema: z
            .object({ items: z.array(EventSchema), nextCursor: z.string().nullable() })
            .openapi('TenantEventPage'),
        },
      },
    },
    ...errorResponses(400, 401),
  },
});
export type ListEventsRoute = typeof listEvents;
