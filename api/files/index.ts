import { createRouter } from '../create-app';
import * as handlers from './files.handlers';
import * as routes from './files.routes';

/** /v1/files: upload, list, describe (with long-poll), download, delete and retention. */
export const files = createRouter()
  .openapi(routes.uploadFile, handlers.uploadFile)
  .openapi(routes.listFiles, handlers.listFiles)
  .openapi(routes.getFile, handlers.getFile)
  .openapi(routes.downloadContent, handlers.downloadContent)
  .openapi(routes.downloadRendition, handlers.downloadRendition)
  .openapi(routes.deleteFile, handlers.deleteFile)
  .openapi(routes.changeRetention, handlers.changeRetention);
