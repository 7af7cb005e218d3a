import type { DbClient, Prisma, TenantEvent } from './db';

/** The event types a tenant can see in GET /v1/events. */
export const TENANT_EVENT_TYPES = ['webhook.disabled'] as const;
export type TenantEventType = (typeof TENANT_EVENT_TYPES)[number];

export interface TenantEventInput {
  id: string;
  tenantId: string;
  type: TenantEventType;
  createdAt: Date;
  data: Prisma.InputJsonObject;
}

export async function recordTenantEvent(db: DbClient, event: TenantEventInput): Promise<void> {
  await db.tenantEvent.create({ data: event });
}

/**
 * One page of a tenant's events, newest first, below the keyset (createdAt, id) of the previous page;
 * one more row than asked is read to know whether another page follows.
 */
export async function listTenantEvents(
  db: DbClient,
  tenantId: string,
  page: { limit: number; after?: { createdAt: Date; id: string } },
): Promise<{ items: TenantEvent[]; more: boolean }> {
  const rows = await db.tenantEvent.findMany({
    where: {
      tenantId,
      ...(page.after
        ? {
            OR: [
              { createdAt: { lt: page.after.createdAt } },
              { createdAt: page.after.createdAt, id: { lt: page.after.id } },
            ],
          }
        : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: page.limit + 1,
  });
  return { items: rows.slice(0, page.limit), more: rows.length > page.limit };
}
