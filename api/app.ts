import { createBaseApp } from './create-app';
import { mountDocs } from './docs';
import { events } from './events';
import { files } from './files';
import { health } from './health';
import { fileShares, shareLinks } from './shares';
import type { ApiServices } from './types';
import { tenant } from './tenant';
import { uploads } from './uploads';
import { webhookSecret } from './webhook-secret';
import { webhooks } from './webhooks';

export const API_VERSION = '1.0.0';

/** The whole HTTP API around the given services; tests pass fakes, server.ts passes the real ones. */
export function createApp(services: ApiServices) {
  const app = createBaseApp(services);
  mountDocs(app, API_VERSION);
  return app
    .route('/', health)
    .route('/v1/files', files)
    .route('/v1/files', fileShares)
    .route('/v1/uploads', uploads)
    .route('/s', shareLinks)
    .route('/v1/webhooks', webhooks)
    .route('/v1/webhook-secret', webhookSecret)
    .route('/v1/events', events)
    .route('/v1/tenant', tenant);
}

export type App = ReturnType<typeof createApp>;
