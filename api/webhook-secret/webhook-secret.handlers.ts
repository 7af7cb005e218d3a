import { getWebhookSecretInfo, rotateWebhookSecret } from '../../prisma/tenants';
import { withDb } from '../dependencies';
import type { AppRouteHandler } from '../types';
import type * as routes from './webhook-secret.routes';

export const readSigningSecret: AppRouteHandler<routes.ReadSigningSecretRoute> = async (c) => {
  const info = await withDb(c, (db) => getWebhookSecretInfo(db, c.var.tenantId));
  return c.json({ secret: info.current }, 200);
};

export const rotateSigningSecret: AppRouteHandler<routes.RotateSigningSecretRoute> = async (c) => {
  const secret = await withDb(c, (db) => rotateWebhookSecret(db, c.var.tenantId));
  const info = await withDb(c, (db) => getWebhookSecretInfo(db, c.var.tenantId));
  c.var.log.info('webhook secret rotated');
  return c.json(
    { secret, previousValidUntil: info.previousExpiresAt ? info.previousExpiresAt.toISOString() : null },
    200,
  );
};
