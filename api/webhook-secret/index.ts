import { createRouter } from '../create-app';
import * as handlers from './webhook-secret.handlers';
import * as routes from './webhook-secret.routes';

/** /v1/webhook-secret: read and rotate the tenant's signing secret. */
export const webhookSecret = createRouter()
  .openapi(routes.readSigningSecret, handlers.readSigningSecret)
  .openapi(routes.rotateSigningSecret, handlers.rotateSigningSecret);
