import { redactUrl } from '../common/redact';
import { newId } from '../lib/ids';
import type { Db, DbClient } from './db';
import { recordTenantEvent } from './events';

/*
 * Writes to a webhook endpoint's health. Many deliveries to one endpoint run at once (one per file
 * event), so each write is one conditional UPDATE that Postgres applies under the row lock, never a
 * read followed by a write: two failures cannot both start the failing period, a success and a failure
 * leave the state of whichever committed last, and only one caller ever disables an endpoint.
 */

/** A delivered attempt: the endpoint is healthy again, its failing period (if any) is over. */
export async function markEndpointDelivered(db: DbClient, endpointId: string): Promise<void> {
  await db.webhookEndpoint.updateMany({
    where: { id: endpointId, failingSince: { not: null } },
    data: { failingSince: null },
  });
}

/** A failed attempt: starts the failing period unless one is running. */
export async function markEndpointFailing(db: DbClient, endpointId: string, now: Date): Promise<void> {
  await db.webhookEndpoint.updateMany({
    where: { id: endpointId, failingSince: null, disabledAt: null },
    data: { failingSince: now },
  });
}

/**
 * Disables an endpoint and records a `webhook.disabled` event for its tenant, in one transaction.
 * With `failingSinceAtOrBefore`, only an endpoint still failing since then (no success cleared it
 * meanwhile) is disabled. Returns whether this call disabled it: a second caller, or one that finds it
 * disabled already, changes nothing and records no second event.
 */
export async function disableEndpoint(
  db: Db,
  input: { endpointId: string; reason: string; now: Date; failingSinceAtOrBefore?: Date },
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.webhookEndpoint.updateMany({
      where: {
        id: input.endpointId,
        disabledAt: null,
        // A removed endpoint gets nothing anyway: an event about it would only be noise.
        deletedAt: null,
        ...(input.failingSinceAtOrBefore ? { failingSince: { lte: input.failingSinceAtOrBefore } } : {}),
      },
      data: { disabledAt: input.now, disabledReason: input.reason },
    });
    if (count === 0) return false;
    const endpoint = await tx.webhookEndpoint.findUniqueOrThrow({
      where: { id: input.endpointId },
      select: { tenantId: true, url: true },
    });
    await recordTenantEvent(tx, {
      id: newId('evt'),
      tenantId: endpoint.tenantId,
      type: 'webhook.disabled',
      createdAt: input.now,
      // The URL's query may hold the receiver's token: events are read by more people than set it.
      data: { webhookId: input.endpointId, url: redactUrl(endpoint.url), reason: input.reason },
    });
    return true;
  });
}

/**
 * The tenant turns a disabled endpoint back on: its failure state is cleared, so the next failure starts
 * a new period. Returns false when the tenant has no such (undeleted) endpoint.
 */
export async function enableEndpoint(db: DbClient, tenantId: string, endpointId: string): Promise<boolean> {
  const { count } = await db.webhookEndpoint.updateMany({
    where: { id: endpointId, tenantId, deletedAt: null },
    data: { disabledAt: null, disabledReason: null, failingSince: null },
  });
  return count > 0;
}

/** Whether deliveries to this endpoint must stop: it was disabled or removed since they were planned. */
export async function endpointStopped(db: DbClient, endpointId: string): Promise<string | null> {
  const endpoint = await db.webhookEndpoint.findUnique({
    where: { id: endpointId },
    select: { disabledAt: true, disabledReason: true, deletedAt: true },
  });
  if (!endpoint || endpoint.deletedAt) return 'the endpoint was removed';
  if (endpoint.disabledAt) return `the endpoint is disabled (${endpoint.disabledReason ?? 'no reason recorded'})`;
  return null;
}
