import { createRouter } from '../create-app';
import * as handlers from './uploads.handlers';
import * as routes from './uploads.routes';

/** /v1/uploads: direct-to-S3 uploads (presigned URLs, then complete). */
export const uploads = createRouter()
  .openapi(routes.createUpload, handlers.createUpload)
  .openapi(routes.completeUpload, handlers.completeUpload);
