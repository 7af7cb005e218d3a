import { createRouter } from '../create-app';
import * as handlers from './file-events.handlers';
import * as routes from './file-events.routes';

/** GET /v1/events/stream: the tenant's file changes as Server-Sent Events. */
export const tenantEventStream = createRouter().openapi(routes.streamTenantEvents, handlers.streamTenantEvents);

/** GET /v1/files/{id}/events: one file's changes as Server-Sent Events. */
export const fileEventStream = createRouter().openapi(routes.streamFileEvents, handlers.streamFileEvents);
