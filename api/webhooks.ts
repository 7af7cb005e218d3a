import { createRoute, z } from '@hono/zod-openapi';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../common/domain';
import { createRouter } from './context';
import { withDb } from './dependencies';
import { ApiError, errorResponses } from './errors';
import { ID_PARAM_PATTERN, newId, parseHttpUrl } from './upload-fields';

const security = [{ bearerAuth: [] }];
const EventSchema = z.enum(WEBHOOK_EVENTS as [WebhookEvent, ...WebhookEvent[]]);
const WebhookSchema = z
  .object({
    id: z.string().openapi({ example: 'wh_p3x7…' }),
    url: z.string(),
    events: z.array(EventSchema).openapi({ description: 'Subscribed events; empty means every event' }),
    createdAt: z.string(),
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
    status: z.string().openapi({ example: 'delivered' }),
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

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  createdAt: Date;
}
const toWebhook = (row: EndpointRow) => ({
  id: row.id,
  url: row.url,
  events: row.events.filter((e): e is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(e)),
  createdAt: row.createdAt.toISOString(),
});
const notFound = (id: string) => new ApiError(404, 'webhook_not_found', `No webhook ${id}`);

export const webhooks = createRouter()
  .openapi(
    createRoute({
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
                  url: z.string().max(2048).openapi({ example: 'https://example.com/hooks/intake' }),
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
    }),
    async (c) => {
      const body = c.req.valid('json');
      const url = parseHttpUrl(body.url, 'url', c.var.config.webhooks.allowPrivate);
      if (!url) throw new ApiError(400, 'invalid_request', 'url: required');
      const row = await withDb(c, (db) =>
        db.webhookEndpoint.create({
          data: { id: newId('wh'), tenantId: c.var.tenantId, url, events: [...new Set(body.events ?? [])] },
        }),
      );
      c.header('Location', `/v1/webhooks/${row.id}`);
      return c.json(toWebhook(row), 201);
    },
  )
  .openapi(
    createRoute({
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
    }),
    async (c) => {
      const rows = await withDb(c, (db) =>
        db.webhookEndpoint.findMany({
          where: { tenantId: c.var.tenantId, deletedAt: null },
          orderBy: { createdAt: 'desc' },
          take: 1000,
        }),
      );
      return c.json({ items: rows.map(toWebhook) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      summary: 'Remove a webhook endpoint (its delivery log is kept)',
      security,
      request: { params: WebhookIdParam },
      responses: { 204: { description: 'Removed' }, ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { count } = await withDb(c, (db) =>
        db.webhookEndpoint.updateMany({
          where: { id, tenantId: c.var.tenantId, deletedAt: null },
          data: { deletedAt: new Date() },
        }),
      );
      if (count === 0) throw notFound(id);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
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
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { limit } = c.req.valid('query');
      const tenantId = c.var.tenantId;
      const endpoint = await withDb(c, (db) =>
        db.webhookEndpoint.findFirst({ where: { id, tenantId }, select: { id: true } }),
      );
      if (!endpoint) throw notFound(id);
      const rows = await withDb(c, (db) =>
        db.webhookDelivery.findMany({
          where: { endpointId: id, tenantId },
          orderBy: { createdAt: 'desc' },
          take: limit,
          include: { attemptLog: { orderBy: { attempt: 'asc' } } },
        }),
      );
      return c.json(
        {
          items: rows.map((d) => ({
            id: d.id,
            messageId: d.messageId,
            fileId: d.fileId,
            event: d.event,
            url: d.url,
            status: d.status,
            attempts: d.attempts,
            lastStatusCode: d.lastStatusCode,
            lastError: d.lastError,
            createdAt: d.createdAt.toISOString(),
            deliveredAt: d.deliveredAt ? d.deliveredAt.toISOString() : null,
            attemptLog: d.attemptLog.map((a) => ({
              attempt: a.attempt,
              statusCode: a.statusCode,
              error: a.error,
              durationMs: a.durationMs,
              createdAt: a.createdAt.toISOString(),
            })),
          })),
        },
        200,
      );
    },
  );
