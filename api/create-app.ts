import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requireApiKey } from './auth';
import { limitRequests } from './rate-limit';
import { answerError, onError, validationHook } from './errors';
import { createFileFeed } from './file-events/file-feed';
import { timeRequests, traceRequests } from './metrics-endpoint';
import type { ApiServices, AppEnv } from './types';

/** One router per resource, all sharing the zod validation hook that shapes 400 answers. */
export const createRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/**
 * Hono route patterns (/v1/files/:id) as regular expressions, to tell 405 from 404. As strict as
 * Hono's router: /v1/files/ matches no route, so it is a 404, not a 405 that names the method it got.
 */
function patternToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    if (patternToRegExp(route.path).test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

function clampRequestId(value: string | undefined): string {
  // A caller's request id is echoed into logs and headers, so only a short, plain one is accepted.
  return value && /^[\w.:-]{1,128}$/.test(value) ? value : randomUUID();
}

/**
 * The app without its resources: the services middleware, auth, body limits, the one error handler
 * and the 404/405 answers. app.ts mounts the resource routers on it.
 */
export function createBaseApp(services: ApiServices) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  // One per process, shared by every event stream: watchers add no queries (api/file-events/file-feed.ts).
  const fileFeed =
    services.fileFeed ??
    createFileFeed({
      db: services.db,
      temporal: services.temporal,
      config: services.config,
      log: services.log,
      changes: services.fileChanges,
    });

  app.use('*', traceRequests());
  if (services.metrics) app.use('*', timeRequests(services.metrics));
  // The one middleware that hands every handler its services, request id and request logger.
  app.use('*', async (c, next) => {
    const requestId = clampRequestId(c.req.header('x-request-id'));
    c.set('requestId', requestId);
    c.set('config', services.config);
    c.set('db', services.db);
    c.set('s3', services.s3);
    c.set('temporal', services.temporal);
    c.set('clamdPing', services.clamdPing);
    c.set('metrics', services.metrics);
    c.set('limiter', services.limiter);
    c.set('fileFeed', fileFeed);
    c.set('fileChanges', services.fileChanges);
    c.set('log', services.log.child({ requestId }));
    const started = performance.now();
    await next();
    try {
      c.res.headers.set('X-Request-Id', requestId);
    } catch {
      // Some responses (e.g. streamed from S3) carry immutable headers; they set the id themselves.
    }
    const status = c.res.status;
    const entry = { method: c.req.method, path: c.req.path, status, ms: Math.round(performance.now() - started) };
    if (status >= 500) c.var.log.error(entry, 'request');
    else c.var.log.info(entry, 'request');
  });

  app.use('/v1/*', requireApiKey);
  app.use('/v1/*', limitRequests);
  // JSON bodies are small; only POST /v1/files streams, and it enforces its own (much larger) limit.
  const jsonLimit = bodyLimit({
    maxSize: 64 * 1024,
    onError: (c) => answerError(c as Context<AppEnv>, 'payload_too_large', 'The JSON body exceeds 64 KiB'),
  });
  // Only on the routes that document a JSON body and a 413: elsewhere a body is ignored, and a 413
  // would be an answer the spec does not list (schemathesis' status_code_conformance).
  app.on('POST', '/v1/webhooks', jsonLimit);
  app.on('PATCH', '/v1/files/:id/retention', jsonLimit);
  app.on('POST', '/v1/files/:id/shares', jsonLimit);
  app.on('POST', '/v1/uploads', jsonLimit);
  // A JSON Schema with many definitions can outgrow 64 KiB.
  app.on(
    'PUT',
    '/v1/schemas/:name',
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) => answerError(c as Context<AppEnv>, 'payload_too_large', 'The JSON body exceeds 1 MiB'),
    }),
  );
  // A complete lists up to 1,000 parts with their ETags: more than 64 KiB, far less than 1 MiB.
  app.on(
    'POST',
    '/v1/uploads/:id/complete',
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) => answerError(c as Context<AppEnv>, 'payload_too_large', 'The JSON body exceeds 1 MiB'),
    }),
  );

  app.onError(onError);
  app.notFound((c: Context<AppEnv>) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      c.header('Allow', allowed.join(', '));
      return answerError(
        c,
        'method_not_allowed',
        `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}`,
      );
    }
    return answerError(c, 'not_found', `No route for ${c.req.method} ${c.req.path}`);
  });
  return app;
}
