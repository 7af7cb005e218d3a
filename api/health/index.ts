import { createRouter } from '../create-app';
import * as handlers from './health.handlers';
import * as routes from './health.routes';

/** Probes: /healthz (the process answers) and /readyz (every dependency answers). */
export const health = createRouter()
  .openapi(routes.liveness, handlers.liveness)
  .openapi(routes.readiness, handlers.readiness);
