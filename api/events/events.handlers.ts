import { listTenantEvents } from '../../prisma/events';
import { withDb } from '../dependencies';
import { decodeFileCursor, encodeFileCursor } from '../files/file-cursor';
import type { AppRouteHandler } from '../types';
import type * as routes from './events.routes';

export const listEvents: AppRouteHandler<routes.ListEventsRoute> = async (c) => {
  const query = c.req.valid('query');
  // The same keyset cursor as GET /v1/files: (createdAt, id), newest first.
  const after = query.cursor ? decodeFileCursor(query.cursor) : undefined;
  const page = await withDb(c, (db) => listTenantEvents(db, c.var.tenantId, { limit: query.limit, after }));
  const last = page.items.at(-1);
  return c.json(
    {
      items: page.items.map((event) => ({
        id: event.id,
        type: event.type as routes.TenantEventView['type'],
        createdAt: event.createdAt.toISOString(),
        data: event.data as routes.TenantEventView['data'],
      })),
      nextCursor: page.more && last ? encodeFileCursor(last) : null,
    },
    200,
  );
};
