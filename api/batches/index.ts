import { createRouter } from '../create-app';
import * as handlers from './batches.handlers';
import * as routes from './batches.routes';

/** /v1/batches: many files in one request, and the batch's status. */
export const batches = createRouter()
  .openapi(routes.createBatch, handlers.createBatch)
  .openapi(routes.getBatch, handlers.getBatch);
