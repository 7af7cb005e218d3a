import { createRouter } from '../create-app';
import * as handlers from './shares.handlers';
import * as routes from './shares.routes';

/** /v1/files/{id}/shares: make, list and revoke share links (with an API key). */
export const fileShares = createRouter()
  .openapi(routes.createShare, handlers.createShare)
  .openapi(routes.listShares, handlers.listShares)
  .openapi(routes.revokeShare, handlers.revokeShare);

/** /s/{token}: a share link in use, without an API key. */
export const shareLinks = createRouter().openapi(routes.useShare, handlers.useShare);
