import { createRouter } from '../create-app';
import * as handlers from './events.handlers';
import * as routes from './events.routes';

/** /v1/events: what the tenant should know about its resources (e.g. a webhook endpoint disabled). */
export const events = createRouter().openapi(routes.listEvents, handlers.listEvents);
