import { createRoute, z } from '@hono/zod-openapi';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../common/domain';
import { BEARER_SECURITY, errorResponses } from '../errors';
import { ID_PARAM_PATTERN } from '../upload-fields';

const security = BEARER_SECURITY;
const EventSchema = z.enum(WEBHOOK_EVENTS as [WebhookEvent, ...WebhookEvent[]]);
const WebhookSchema = z
  .object({
    id: z.string().openapi({ example: 'wh_p3x7…' }),
    url: z.string(),
    events: z.array(EventSchema).openapi({ description: 'Subscribed events; empty means every event' }),
    createdAt: z.string(),
    disabledAt: z
      .string()
      .nullable()
      .openapi({
        description:
          'Set when the endpoint answered 410 Gone or kept failing for INTAKE_WEBHOOK_DISABLE_AFTER (5 days by ' +
          'default): nothing is sent to it until POST /v1/webhooks/{id}/enable. A webhook.disabled event in ' +
          'GET /v1/events says so too.',
      }),
    disabledReason: z
      .string()
      .nullable()
      .openapi({ example: 'failed continuously for 5d (until 2026-12-07T10:00:00.000Z)' }),
    failingSince: z.string().nullable().openapi({
      description: 'When its current run of failed attempts began; null while deliveries succeed',
    }),
  })
  .openapi('Webhook');
const WebhookIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(ID_PARAM_PATTERN, 'not a webhook id')
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const AttemptSchema = z.object({
  attempt: z.number().int(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  createdAt: z.string(),
});
const DeliverySchema = z
  .object({
    id: z.string(),
    messageId: z.string().openapi({ description: 'The webhook-id header: one per event, stable across retries' }),
    fileId: z.string(),
    event: z.string(),
    url: z.string(),
    status: z.string().openapi({
      example: 'delivered',
      description:
        'pending, delivered, failed (retried), rejected (a permanent 4xx), gone (410: endpoint disabled), refused ' +
        '(a private target), or abandoned (its endpoint was disabled or removed before a retry)',
    }),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    attemptLog: z.array(AttemptSchema),
  })
  .openapi('WebhookDelivery');

export type Webhook = z.infer<typeof WebhookSchema>;
export type WebhookDeliveryView = z.infer<typeof DeliverySchema>;

export const createWebhook = createRoute({
  method: 'post',
  path: '/',
  summary: 'Register a webhook endpoint',
  description:
    'Deliveries follow the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature), signed with ' +
    'the secret from GET /v1/webhook-secret.',
  security,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              url: z.string().max(2048).openapi({
                example: 'https://example.com/hooks/intake',
                format: 'uri',
                pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
              }),
              events: z.array(EventSchema).max(WEBHOOK_EVENTS.length).optional(),
            })
            .openapi('WebhookCreate'),
        },
      },
    },
  },
  responses: {
    201: { description: 'Registered', content: { 'application/json': { schema: WebhookSchema } } },
    ...errorResponses(400, 401, 413, 415),
  },
});
export type CreateWebhookRoute = typeof createWebhook;

export const listWebhooks = createRoute({
  method: 'get',
  path: '/',
  summary: "The tenant's webhook endpoints",
  security,
  responses: {
    200: {
      description: 'Endpoints',
      content: { 'application/json': { schema: z.object({ items: z.array(WebhookSchema) }) } },
    },
    ...errorResponses(401),
  },
});
export type ListWebhooksRoute = typeof listWebhooks;

export const deleteWebhook = createRoute({
  method: 'delete',
  path: '/{id}',
  summary: 'Remove a webhook endpoint (its delivery log is kept)',
  security,
  request: { params: WebhookIdParam },
  responses: { 204: { description: 'Removed' }, ...errorResponses(400, 401, 404) },
});
export type DeleteWebhookRoute = typeof deleteWebhook;

export const listDeliveries = createRoute({
  method: 'get',
  path: '/{id}/deliveries',
  summary: 'Recent deliveries to this endpoint, with every attempt and its status code',
  security,
  request: {
    params: WebhookIdParam,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }),
  },
  responses: {
    200: {
      description: 'Deliveries, newest first',
      content: { 'application/json': { schema: z.object({ items: z.array(DeliverySchema) }) } },
    },
    ...errorResponses(400, 401, 404),
  },
});
export type ListDeliveriesRoute = typeof listDeliveries;

export const enableWebhook = createRoute({
  method: 'post',
  path: '/{id}/enable',
  summary: 'Enable a disabled webhook endpoint again',
  description:
    'Clears disabledAt, disabledReason and failingSince: new events are delivered to it again (deliveries ' +
    'that ended while it was disabled are not resent), and a new failure starts a new failing period. ' +
    'Enabling an endpoint that is not disabled changes nothing.',
  security,
  request: { params: WebhookIdParam },
  responses: {
    200: { description: 'Enabled', content: { 'application/json': { schema: WebhookSchema } } },
    ...errorResponses(400, 401, 404),
  },
});
export type EnableWebhookRoute = typeof enableWebhook;

export const testWebhook = createRoute({
  method: 'post',
  path: '/{id}/test',
  summary: 'Send a signed test event to this endpoint now',
  description:
    'One `webhook.test` event (`{"type":"webhook.test","timestamp":…,"data":{"webhookId":…}}`), signed like every ' +
    'delivery and sent through the same guard, once: not retried and not in the delivery log. The answer says what ' +
    'the endpoint did.',
  security,
  request: { params: WebhookIdParam },
  responses: {
    200: {
      description: 'What the endpoint answered (delivered: a 2xx)',
      content: {
        'application/json': {
          schema: z
            .object({
              delivered: z.boolean(),
              statusCode: z.number().int().nullable(),
              error: z.string().nullable(),
              durationMs: z.number().int(),
              messageId: z.string().openapi({ description: 'The webhook-id header it carried' }),
            })
            .openapi('WebhookTestResult'),
        },
      },
    },
    ...errorResponses(400, 401, 404),
  },
});
export type TestWebhookRoute = typeof testWebhook;
