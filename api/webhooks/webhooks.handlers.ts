import { WEBHOOK_EVENTS, type WebhookEvent } from '../../common/domain';
import { newId } from '../../lib/ids';
import { getWebhookSecrets } from '../../prisma/tenants';
import { enableEndpoint } from '../../prisma/webhooks';
import { withDb } from '../dependencies';
import { ApiError } from '../errors';
import type { AppRouteHandler } from '../types';
import { parseHttpUrl } from '../upload-fields';
import type * as routes from './webhooks.routes';
import { sendTestEvent } from './send-test-event';

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  createdAt: Date;
  disabledAt?: Date | null;
  disabledReason?: string | null;
  failingSince?: Date | null;
}
const toWebhook = (row: EndpointRow) => ({
  id: row.id,
  url: row.url,
  events: row.events.filter((e): e is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(e)),
  createdAt: row.createdAt.toISOString(),
  disabledAt: row.disabledAt?.toISOString() ?? null,
  disabledReason: row.disabledReason ?? null,
  failingSince: row.failingSince?.toISOString() ?? null,
});
const webhookNotFound = (id: string) => new ApiError('webhook_not_found', `No webhook ${id}`);

export const createWebhook: AppRouteHandler<routes.CreateWebhookRoute> = async (c) => {
  const body = c.req.valid('json');
  const url = parseHttpUrl(body.url, 'url', c.var.config.webhooks);
  if (!url) throw new ApiError('invalid_request', 'url: required');
  const row = await withDb(c, (db) =>
    db.webhookEndpoint.create({
      data: { id: newId('wh'), tenantId: c.var.tenantId, url, events: [...new Set(body.events ?? [])] },
    }),
  );
  c.header('Location', `/v1/webhooks/${row.id}`);
  return c.json(toWebhook(row), 201);
};

export const listWebhooks: AppRouteHandler<routes.ListWebhooksRoute> = async (c) => {
  const rows = await withDb(c, (db) =>
    db.webhookEndpoint.findMany({
      where: { tenantId: c.var.tenantId, deletedAt: null },
      orderBy: { createdAt: 'desc' },
      take: 1000,
    }),
  );
  return c.json({ items: rows.map(toWebhook) }, 200);
};

export const deleteWebhook: AppRouteHandler<routes.DeleteWebhookRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const { count } = await withDb(c, (db) =>
    db.webhookEndpoint.updateMany({
      where: { id, tenantId: c.var.tenantId, deletedAt: null },
      data: { deletedAt: new Date() },
    }),
  );
  if (count === 0) throw webhookNotFound(id);
  return c.body(null, 204);
};

export const enableWebhook: AppRouteHandler<routes.EnableWebhookRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const tenantId = c.var.tenantId;
  const row = await withDb(c, async (db) =>
    (await enableEndpoint(db, tenantId, id))
      ? db.webhookEndpoint.findFirst({ where: { id, tenantId, deletedAt: null } })
      : null,
  );
  if (!row) throw webhookNotFound(id);
  return c.json(toWebhook(row), 200);
};

export const listDeliveries: AppRouteHandler<routes.ListDeliveriesRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const { limit } = c.req.valid('query');
  const tenantId = c.var.tenantId;
  const endpoint = await withDb(c, (db) =>
    db.webhookEndpoint.findFirst({ where: { id, tenantId }, select: { id: true } }),
  );
  if (!endpoint) throw webhookNotFound(id);
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
      items: rows.map((delivery) => ({
        id: delivery.id,
        messageId: delivery.messageId,
        fileId: delivery.fileId,
        event: delivery.event,
        url: delivery.url,
        status: delivery.status,
        attempts: delivery.attempts,
        lastStatusCode: delivery.lastStatusCode,
        lastError: delivery.lastError,
        createdAt: delivery.createdAt.toISOString(),
        deliveredAt: delivery.deliveredAt ? delivery.deliveredAt.toISOString() : null,
        attemptLog: delivery.attemptLog.map((attempt) => ({
          attempt: attempt.attempt,
          statusCode: attempt.statusCode,
          error: attempt.error,
          durationMs: attempt.durationMs,
          createdAt: attempt.createdAt.toISOString(),
        })),
      })),
    },
    200,
  );
};

export const testWebhook: AppRouteHandler<routes.TestWebhookRoute> = async (c) => {
  const { id } = c.req.valid('param');
  const tenantId = c.var.tenantId;
  const endpoint = await withDb(c, (db) =>
    db.webhookEndpoint.findFirst({ where: { id, tenantId, deletedAt: null }, select: { id: true, url: true } }),
  );
  if (!endpoint) throw webhookNotFound(id);
  const secrets = await withDb(c, (db) => getWebhookSecrets(db, tenantId));
  return c.json(await sendTestEvent(c.var.config, endpoint, secrets), 200);
};
