import { relative } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Handler, type MiddlewareHandler } from 'hono';
import { CONSOLE_DIST } from '../../console/build';
import { answerError } from '../errors';
import type { AppEnv } from '../types';

/** The console runs only its own bundle: no inline script, nothing from another origin. */
const CONSOLE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** serveStatic's answer with the console's headers; without the built file, the API's JSON 404. */
const withHeaders =
  (serve: MiddlewareHandler<AppEnv>): Handler<AppEnv> =>
  async (c) => {
    const res = await serve(c, async () => undefined);
    if (!(res instanceof Response)) {
      return answerError(c, 'not_found', 'The web console is not built: run `npm run build:console`');
    }
    for (const [name, value] of Object.entries(CONSOLE_HEADERS)) res.headers.set(name, value);
    return res;
  };

/**
 * The web console's static assets at / (dist/console, built by console/build.ts). Not in the OpenAPI
 * document: it is a client of /v1, not part of it. The page holds no secret; the API key lives in the
 * browser's sessionStorage and travels only in Authorization headers.
 */
export function consoleRoutes() {
  const root = relative(process.cwd(), CONSOLE_DIST) || '.';
  const app = new Hono<AppEnv>().get('/', withHeaders(serveStatic({ root, path: 'index.html' })));
  // Named files only: nothing else under dist/ is reachable.
  for (const asset of ['app.js', 'styles.css']) {
    app.get(`/console/${asset}`, withHeaders(serveStatic({ root, path: asset })));
  }
  return app;
}
