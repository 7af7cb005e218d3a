import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/env';

/** Whether a scrape may read the metrics: yes, no (401), or never without a token (403, production). */
export type MetricsAccess = 'allowed' | 'unauthorized' | 'token_required';

/**
 * The one rule of both metrics endpoints (the API's /metrics and each worker's): with
 * INTAKE_METRICS_TOKEN set, a scrape must send it as a bearer token; without it they are open in
 * development and tests, and closed in production, where series name tenants and reveal load.
 */
export function metricsAccess(metrics: Config['metrics'], authorization: string | undefined): MetricsAccess {
  if (metrics.token === undefined) return metrics.open ? 'allowed' : 'token_required';
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(authorization ?? '');
  if (!match) return 'unauthorized';
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(metrics.token);
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'allowed' : 'unauthorized';
}
