import type { MiddlewareHandler } from 'hono';
import { effectiveLimits } from '../prisma/quotas';
import { findTenantByApiKey } from '../prisma/tenants';
import type { AppEnv } from './types';
import { withDb } from './dependencies';
import { ApiError } from './errors';

const unauthorized = (message: string) =>
  new ApiError('unauthorized', message, { 'WWW-Authenticate': 'Bearer realm="intake"' });

/** `Authorization: Bearer <api key>` → the key's tenant, for every /v1 route. */
export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header('authorization');
  if (!header) throw unauthorized('Missing Authorization: Bearer <api key>');
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  if (!match) throw unauthorized('Authorization must be "Bearer <api key>"');
  const tenant = await withDb(c, (db) => findTenantByApiKey(db, match[1]!));
  if (!tenant) throw unauthorized('Unknown or revoked API key');
  const { tenantId } = tenant;
  c.set('tenantId', tenantId);
  c.set('apiKeyId', tenant.keyId);
  c.set('limits', effectiveLimits(tenant.limits, c.var.config.defaultLimits));
  c.set('log', c.var.log.child({ tenant: tenantId }));
  await next();
};
