import { analytics } from './analytics';
import { batches } from './batches';
import { consoleRoutes } from './console';
import { createBaseApp } from './create-app';
import { mountDocs } from './docs';
import { events } from './events';
import { fileEventStream, tenantEventStream } from './file-events';
import { files } from './files';
import { health } from './health';
import { fileShares, shareLinks } from './shares';
import { mountMetrics } from './metrics-endpoint';
import type { ApiServices } from './types';
import { tenant } from './tenant';
import { schemas } from './schemas';
import { uploads } from './uploads';
import { webhookSecret } from './webhook-secret';
import { webhooks } from './webhooks';
import { documentTus } from './tus/tus-docs';
import { TUS_PATH, createTusEndpoint } from './tus/tus-server';

export const API_VERSION = '1.0.0';

/** The whole HTTP API around the given services; tests pass fakes, server.ts passes the real ones. */
export function createApp(services: ApiServices) {
  const app = createBaseApp(services);
  mountDocs(app, API_VERSION);
  mountMetrics(app, services);
  // Mounted on the app itself, before any body parsing: @tus/server reads each request's body stream.
  const tus = createTusEndpoint(services.config);
  for (const path of [TUS_PATH, `${TUS_PATH}/`, `${TUS_PATH}/:id`]) app.all(path, (c) => tus.handle(c));
  documentTus(app);
  return app
    .route('/', health)
    .route('/v1/files', files)
    .route('/v1/files', fileShares)
    .route('/v1/files', fileEventStream)
    .route('/v1/uploads', uploads)
    .route('/s', shareLinks)
    .route('/v1/batches', batches)
    .route('/v1/webhooks', webhooks)
    .route('/v1/webhook-secret', webhookSecret)
    .route('/v1/events', events)
    .route('/v1/events', tenantEventStream)
    .route('/v1/tenant', tenant)
    .route('/v1/schemas', schemas)
    .route('/v1/analytics', analytics)
    .route('/', consoleRoutes());
}

export type App = ReturnType<typeof createApp>;
