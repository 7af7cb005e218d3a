import { createRouter } from '../create-app';
import * as handlers from './schemas.handlers';
import * as routes from './schemas.routes';

/** /v1/schemas: the tenant's JSON Schemas, which uploads name to have their JSON validated. */
export const schemas = createRouter()
  .openapi(routes.putSchema, handlers.putSchema)
  .openapi(routes.listSchemas, handlers.listSchemas)
  .openapi(routes.getSchema, handlers.getSchema)
  .openapi(routes.deleteSchema, handlers.deleteSchema);
