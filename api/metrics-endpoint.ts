import { httpInstrumentationMiddleware } from '@hono/otel';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { metricsAccess } from '../lib/metrics-access';
import type { ApiMetrics, DependencyName } from '../lib/metrics';
import { answerError } from './errors';
import { readinessChecks } from './health/health.handlers';
import type { ApiServices, AppEnv } from './types';

/*
 * The API's observability: a server span per request (@hono/otel, honouring an incoming W3C
 * `traceparent`), http_request_duration_seconds by route template, and GET /metrics.
 */

/** The request's span: outermost, so every log line and Temporal call of the request sits inside it. */
export const traceRequests = (): MiddlewareHandler<AppEnv> => httpInstrumentationMiddleware();

/**
 * Times each request by its route template (/v1/files/:id, never the path itself: no file id becomes a
 * label). After `next`, routePath names the last route that handled the request.
 */
export function timeRequests(metrics: ApiMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.observeRequest(c.req.method, routePath(c), c.res.status, (performance.now() - started) / 1000);
    }
  };
}

const DEPENDENCY_OF_CHECK: Record<string, DependencyName> = {
  temporal: 'temporal',
  s3: 's3',
  postgres: 'postgres',
  clamd: 'clamd',
};

/**
 * GET /metrics (Prometheus text format), outside /v1 and its API keys: it takes INTAKE_METRICS_TOKEN
 * instead (lib/metrics-access.ts). Each scrape runs the readiness checks, so intake_dependency_up is as
 * fresh as the scrape.
 */
export function mountMetrics(app: OpenAPIHono<AppEnv>, services: ApiServices): void {
  const { metrics } = services;
  if (!metrics) return;
  app.get('/metrics', async (c) => {
    const access = metricsAccess(c.var.config.metrics, c.req.header('authorization'));
    if (access === 'unauthorized') {
      c.header('WWW-Authenticate', 'Bearer realm="intake-metrics"');
      return answerError(c, 'unauthorized', 'Send Authorization: Bearer <INTAKE_METRICS_TOKEN>');
    }
    if (access === 'token_required') {
      return answerError(
        c,
        'metrics_token_required',
        'Metrics are closed in production until INTAKE_METRICS_TOKEN is set',
      );
    }
    const checks = await readinessChecks(c);
    for (const [name, check] of Object.entries(checks)) {
      const dependency = DEPENDENCY_OF_CHECK[name];
      if (dependency) metrics.dependencyChecked(dependency, check.ok);
    }
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics(), 200);
  });
}
