import { relative } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import { CONSOLE_DIST } from '../../console/build';
import type { AppEnv } from '../types';

/** The console runs only its own bundle: no inline script, nothing from another origin. */
const CONSOLE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

const withHeaders =
  (serve: MiddlewareHandler): MiddlewareHandler =>
  async (c, next) => {
    await serve(c, next);
    for (const [name, value] of Object.entries(CONSOLE_HEADERS)) c.res.headers.set(name, value);
  };

/**
 * The web console's static assets at / (dist/console, built by console/build.ts). Not in the OpenAPI
 * document: it is a client of /v1, not part of it. The page holds no secret; the API key lives in the
 * browser's sessionStorage and travels only in Authorization headers.
 */
export function consoleRoutes() {
  const root = relative(process.cwd(), CONSOLE_DIST) || '.';
  return (
    new Hono<AppEnv>()
      .get('/', withHeaders(serveStatic({ root, path: 'index.html' })))
      // Named files only: nothing else under dist/ is reachable.
      .get(
        '/console/:asset{(app\\.js|styles\\.css)}',
        withHeaders(serveStatic({ root, rewriteRequestPath: (path) => path.replace(/^\/console/, '') })),
      )
  );
}
