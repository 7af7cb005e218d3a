import { createRouter } from '../create-app';
import * as handlers from './webhooks.handlers';
import * as routes from './webhooks.routes';

/** /v1/webhooks: register, list, re-enable and remove endpoints, and read their delivery log, send a test event. */
export const webhooks = createRouter()
  .openapi(routes.createWebhook, handlers.createWebhook)
  .openapi(routes.listWebhooks, handlers.listWebhooks)
  .openapi(routes.deleteWebhook, handlers.deleteWebhook)
  .openapi(routes.enableWebhook, handlers.enableWebhook)
  .openapi(routes.listDeliveries, handlers.listDeliveries)
  .openapi(routes.testWebhook, handlers.testWebhook);
