import { readFile } from 'node:fs/promises';
import { Scalar } from '@scalar/hono-api-reference';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { BEARER_SECURITY, RETRY_AFTER_HEADER } from './errors';
import type { AppEnv } from './types';

export const API_DESCRIPTION = `Intake stores uploads, scans them for malware, validates them, makes image renditions, indexes
them, notifies your webhooks and deletes everything when the retention period ends.

**Quick start**

\`\`\`sh
KEY=...   # your API key (printed by npm run dev, or INTAKE_API_KEYS)
curl -s -H "Authorization: Bearer $KEY" -F file=@photo.jpg http://localhost:3000/v1/files
curl -s -H "Authorization: Bearer $KEY" "http://localhost:3000/v1/files/$ID?wait=30s"
curl -s -H "Authorization: Bearer $KEY" -o thumb.webp http://localhost:3000/v1/files/$ID/renditions/thumb
curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"url":"https://example.com/hook"}' http://localhost:3000/v1/webhooks
curl -s -H "Authorization: Bearer $KEY" -X DELETE http://localhost:3000/v1/files/$ID
curl -N -H "Authorization: Bearer $KEY" http://localhost:3000/v1/events/stream   # every change, live (SSE)
\`\`\`

Every error is \`{ "error": { "code", "message", "requestId" } }\`. Webhooks follow the Standard Webhooks spec:
verify \`webhook-signature\` with the secret from \`GET /v1/webhook-secret\`.`;

const RATE_LIMIT_HEADERS = {
  ...RETRY_AFTER_HEADER,
  'RateLimit-Policy': { description: 'The limit: "rps";q=<requests>;w=<seconds>', schema: { type: 'string' as const } },
  RateLimit: {
    description: 'What is left: "rps";r=<remaining>;t=<seconds to reset>',
    schema: { type: 'string' as const },
  },
};

/** Routes that store bytes: a full storage or file quota answers 403 quota_exceeded. */
const UPLOAD_OPERATIONS = new Set([
  'post /v1/files',
  'post /v1/batches',
  'post /v1/uploads',
  'post /v1/uploads/{id}/complete',
  'post /v1/tus/',
  'patch /v1/tus/{id}',
  'head /v1/tus/{id}',
]);

type OpenApiDocument = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;

/**
 * Every /v1 operation is metered by the rate limit (api/rate-limit.ts), a middleware no route
 * declares: its 429, and the uploads' 403, are added to the document here rather than to every route.
 */
function withLimitAnswers(document: OpenApiDocument): OpenApiDocument {
  const error = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (!path.startsWith('/v1/')) continue;
    for (const method of ['get', 'head', 'options', 'post', 'put', 'patch', 'delete'] as const) {
      const operation = item?.[method];
      if (!operation) continue;
      const responses = (operation.responses ??= {}) as Record<string, unknown>;
      responses['429'] = {
        description: 'Over the rate limit or the concurrent uploads; retry after Retry-After',
        headers: RATE_LIMIT_HEADERS,
        content: error,
      };
      if (UPLOAD_OPERATIONS.has(`${method} ${path}`)) {
        responses['403'] ??= { description: "The tenant's storage or file quota is full", content: error };
      }
    }
  }
  return document;
}

let scalarBundle: Promise<Buffer> | undefined;

/** GET /openapi.json (the full spec, with the bearer scheme) and GET /docs (an interactive reference). */
export function mountDocs(app: OpenAPIHono<AppEnv>, version: string): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: Authorization: Bearer <key>',
  });
  app.get('/openapi.json', (c) =>
    c.json(
      withLimitAnswers(
        app.getOpenAPI31Document({
          openapi: '3.1.0',
          info: { title: 'Intake API', version, description: API_DESCRIPTION },
          servers: [{ url: c.var.config.publicUrl }],
          security: BEARER_SECURITY,
        }),
      ),
    ),
  );
  // The reference page's script is served from this process, not a CDN, so /docs works offline too.
  app.get('/docs/scalar.js', async (c) => {
    scalarBundle ??= readFile(
      // The package does not export its browser bundle, so it is read from the installed files.
      new URL('../node_modules/@scalar/api-reference/dist/browser/standalone.js', import.meta.url),
    );
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=86400');
    return c.body(new Uint8Array(await scalarBundle));
  });
  app.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'Intake API', cdn: '/docs/scalar.js' }));
}
