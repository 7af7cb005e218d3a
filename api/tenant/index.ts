import { createRouter } from '../create-app';
import * as handlers from './tenant.handlers';
import * as routes from './tenant.routes';

/** /v1/tenant: the caller's own tenant, its limits and usage. */
export const tenant = createRouter().openapi(routes.readTenant, handlers.readTenant);
