import { tenantUsage } from '../../prisma/quotas';
import { withDb } from '../dependencies';
import type { AppRouteHandler } from '../types';
import type * as routes from './tenant.routes';

export const readTenant: AppRouteHandler<routes.ReadTenantRoute> = async (c) => {
  const usage = await withDb(c, (db) => tenantUsage(db, c.var.tenantId));
  return c.json(
    {
      id: c.var.tenantId,
      limits: c.var.limits,
      usage: { storageBytes: usage.storedBytes, files: usage.files },
    },
    200,
  );
};
