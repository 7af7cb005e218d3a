import { createRouter } from '../create-app';
import * as handlers from './analytics.handlers';
import * as routes from './analytics.routes';

/** /v1/analytics: a tenant's own figures, read from the analytics views. */
export const analytics = createRouter().openapi(routes.getSummary, handlers.getSummary);
