import type { ActivityDeps } from './deps';
import type { PlanNotificationsInput, WebhookTarget } from './types';

/**
 * Who hears about an event: the tenant's active (not deleted, not disabled) endpoints subscribed to it (no subscription list means
 * every event) and the upload's own callback URL, each URL once.
 */
export async function planNotifications(deps: ActivityDeps, input: PlanNotificationsInput): Promise<WebhookTarget[]> {
  const endpoints = await deps.db.webhookEndpoint.findMany({
    // A disabled endpoint (410 Gone, or failing for INTAKE_WEBHOOK_DISABLE_AFTER) gets nothing until re-enabled.
    where: { tenantId: input.tenantId, deletedAt: null, disabledAt: null },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: { id: true, url: true, events: true },
  });
  const targets: WebhookTarget[] = endpoints
    .filter((endpoint) => endpoint.events.length === 0 || endpoint.events.includes(input.event))
    .map((endpoint) => ({ endpointId: endpoint.id, url: endpoint.url }));
  if (input.callbackUrl) targets.push({ endpointId: null, url: input.callbackUrl });
  const seen = new Set<string>();
  return targets.filter((target) => !seen.has(target.url) && seen.add(target.url));
}
