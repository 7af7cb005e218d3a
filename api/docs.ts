import { readFile } from 'node:fs/promises';
import { Scalar } from '@scalar/hono-api-reference';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { BEARER_SECURITY } from './errors';
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
\`\`\`

Every error is \`{ "error": { "code", "message", "requestId" } }\`. Webhooks follow the Standard Webhooks spec:
verify \`webhook-signature\` with the secret from \`GET /v1/webhook-secret\`.`;

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
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: { title: 'Intake API', version, description: API_DESCRIPTION },
        servers: [{ url: c.var.config.publicUrl }],
        security: BEARER_SECURITY,
      }),
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
