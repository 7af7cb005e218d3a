import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { BEARER_SECURITY, ErrorSchema, RETRY_AFTER_HEADER } from '../errors';
import type { AppEnv } from '../types';
import { FILE_ID_HEADER, TUS_PATH } from './tus-server';

/*
 * The tus routes in /openapi.json. They are served by @tus/server, not by zod-openapi routes, so they
 * are documented here by hand: the headers are the protocol (tus 1.0), the statuses what Intake answers.
 */

const header = (description: string, type: 'string' | 'integer' = 'string') => ({
  description,
  schema: { type },
});

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorSchema } },
});

const tusResumable = z
  .literal('1.0.0')
  .openapi({ description: 'The tus version; every request but OPTIONS carries it (412 without)' });

const idParams = z.object({
  id: z
    .string()
    .regex(/^f_[a-z2-7]{24}$/)
    .openapi({
      param: { name: 'id', in: 'path' },
      description: 'The upload, named by the file id it becomes (the last segment of Location)',
    }),
});

const COMMON_ERRORS = {
  401: error('Missing or unknown API key'),
  412: error('No Tus-Resumable: 1.0.0'),
  500: error('Unexpected server error'),
  503: { ...error('S3, Postgres or Temporal is unavailable'), headers: RETRY_AFTER_HEADER },
};

export function documentTus(app: OpenAPIHono<AppEnv>): void {
  const registry = app.openAPIRegistry;
  const tags = ['Resumable uploads (tus)'];
  registry.registerPath({
    method: 'options',
    path: `${TUS_PATH}/`,
    tags,
    summary: 'What this tus server offers',
    security: BEARER_SECURITY,
    responses: {
      204: {
        description: 'The tus version, extensions and the size limit',
        headers: {
          'Tus-Version': header('1.0.0'),
          'Tus-Extension': header('creation,creation-with-upload,termination,expiration'),
          'Tus-Max-Size': header('The largest Upload-Length accepted (INTAKE_MAX_UPLOAD_BYTES)', 'integer'),
        },
      },
      401: COMMON_ERRORS[401],
    },
  });
  registry.registerPath({
    method: 'post',
    path: `${TUS_PATH}/`,
    tags,
    summary: 'Create a resumable upload (creation, creation-with-upload)',
    description:
      "Upload-Metadata is tus' comma-separated `key base64value` list: `filename` (required), `filetype`, `tags` " +
      '(comma-separated), `retention` (e.g. 7d) and `callbackUrl`. A body of type application/offset+octet-stream ' +
      'may carry the first (or every) byte. When the last byte arrives the upload becomes a file: its id is in ' +
      `${FILE_ID_HEADER}, and GET /v1/files/{id} follows its processing.`,
    security: BEARER_SECURITY,
    request: {
      headers: z.object({
        'tus-resumable': tusResumable,
        'upload-length': z.string().regex(/^\d+$/).openapi({ description: 'The whole size in bytes' }),
        'upload-metadata': z.string().openapi({
          description:
            'filename (required), filetype, schema (a JSON Schema name; unknown: 422 unknown_schema), tags, retention, callbackUrl',
        }),
      }),
      body: {
        required: false,
        content: { 'application/offset+octet-stream': { schema: { type: 'string', format: 'binary' } } },
      },
    },
    responses: {
      201: {
        description: 'Created; PATCH the bytes to Location',
        headers: {
          Location: header('The upload URL'),
          'Upload-Offset': header('Bytes stored so far (creation-with-upload)', 'integer'),
          'Upload-Expires': header('When an unfinished upload is removed (INTAKE_TUS_EXPIRY)'),
          [FILE_ID_HEADER]: header('The file the upload became, once every byte arrived'),
        },
      },
      400: error('Bad Upload-Length or Upload-Metadata (no filename, a bad tag, retention or callbackUrl)'),
      413: error('Upload-Length exceeds INTAKE_MAX_UPLOAD_BYTES'),
      422: error('Upload-Length: 0, or a schema the tenant has not registered (unknown_schema)'),
      501: error('A tus extension Intake does not offer (Upload-Defer-Length, Upload-Concat)'),
      ...COMMON_ERRORS,
    },
  });
  registry.registerPath({
    method: 'head',
    path: `${TUS_PATH}/{id}`,
    tags,
    summary: 'Where to resume: the stored offset, and the file once complete',
    security: BEARER_SECURITY,
    request: { headers: z.object({ 'tus-resumable': tusResumable }), params: idParams },
    responses: {
      200: {
        description: 'The upload',
        headers: {
          'Upload-Offset': header('Bytes stored; resume the PATCH here', 'integer'),
          'Upload-Length': header('The declared length', 'integer'),
          'Upload-Metadata': header('As sent at creation'),
          [FILE_ID_HEADER]: header('The file the upload became, once Upload-Offset = Upload-Length'),
        },
      },
      404: error('No such upload for this tenant'),
      410: error('The upload expired'),
      ...COMMON_ERRORS,
    },
  });
  registry.registerPath({
    method: 'patch',
    path: `${TUS_PATH}/{id}`,
    tags,
    summary: 'Append bytes at Upload-Offset',
    security: BEARER_SECURITY,
    request: {
      params: idParams,
      headers: z.object({
        'tus-resumable': tusResumable,
        'upload-offset': z.string().regex(/^\d+$/).openapi({ description: 'Where these bytes start' }),
      }),
      body: {
        required: true,
        content: { 'application/offset+octet-stream': { schema: { type: 'string', format: 'binary' } } },
      },
    },
    responses: {
      204: {
        description: 'Stored; the final PATCH also names the file',
        headers: {
          'Upload-Offset': header('Bytes stored now', 'integer'),
          'Upload-Expires': header('When the unfinished upload is removed'),
          [FILE_ID_HEADER]: header('The file the upload became, on the PATCH that completes it'),
        },
      },
      403: error('No Upload-Offset, or a Content-Type other than application/offset+octet-stream'),
      404: error('No such upload for this tenant'),
      409: error('Upload-Offset is not the stored offset (HEAD tells where to resume)'),
      410: error('The upload expired'),
      413: error('More bytes than Upload-Length'),
      ...COMMON_ERRORS,
    },
  });
  registry.registerPath({
    method: 'delete',
    path: `${TUS_PATH}/{id}`,
    tags,
    summary: 'Terminate an upload (a file it became stays)',
    security: BEARER_SECURITY,
    request: { headers: z.object({ 'tus-resumable': tusResumable }), params: idParams },
    responses: {
      204: { description: 'Removed' },
      404: error('No such upload for this tenant'),
      ...COMMON_ERRORS,
    },
  });
}
