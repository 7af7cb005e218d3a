import { randomUUID } from 'node:crypto';
import { webhookTargetRefusal } from '../lib/webhook-guard';
import { getWebhookSecrets } from '../prisma/tenants';
import type { ActivityDeps } from './deps';
import { webhookRefused } from '../common/failures';
import type { DeliverWebhookInput, DeliverWebhookResult } from './types';
import { buildWebhookBody, webhookHeaders } from './webhook-message';

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Sends one signed event to one target and records the attempt. A non-2xx answer or a network error
 * throws, so Temporal retries with backoff; the webhook-id stays the same across retries so receivers
 * can drop duplicates. Redirects are not followed: a 3xx could point at a private address.
 */
export async function deliverWebhook(deps: ActivityDeps, input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
  const { config, db } = deps;
  const { url, endpointId } = input.target;
  const key = { messageId_url: { messageId: input.messageId, url } };

  const existing = await db.webhookDelivery.findUnique({ where: key, select: { status: true, lastStatusCode: true } });
  // Already delivered by an attempt whose completion never reached Temporal: do not send it twice.
  if (existing?.status === 'delivered') return { statusCode: existing.lastStatusCode ?? 200 };

  // The name is resolved and checked just before the request. fetch cannot pin the checked address, so a
  // name re-pointed in between (DNS rebinding) is not caught here; an egress proxy closes that gap.
  const refusal = await webhookTargetRefusal(url, { allowPrivate: config.webhooks.allowPrivate });
  // Before the attempt is counted: a tenant without secrets is a set-up problem, not a delivery attempt.
  const secrets = refusal ? [] : await getWebhookSecrets(db, input.tenantId);
  const delivery = await db.webhookDelivery.upsert({
    where: key,
    create: {
      id: randomUUID(),
      messageId: input.messageId,
      tenantId: input.tenantId,
      fileId: input.fileId,
      endpointId,
      url,
      event: input.event,
      attempts: 1,
    },
    update: { attempts: { increment: 1 } },
    select: { id: true, attempts: true },
  });

  if (refusal) {
    await record(deps, delivery, { status: 'refused', statusCode: null, error: refusal, durationMs: 0 });
    throw webhookRefused(refusal);
  }

  const timestamp = new Date();
  const body = JSON.stringify(buildWebhookBody(config.publicUrl, input.event, input.file, timestamp));
  const started = performance.now();
  let response: Response;
  try {
    response = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      headers: webhookHeaders(secrets, input.messageId, timestamp, body),
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const message = describeNetworkError(error);
    await record(deps, delivery, { status: 'failed', statusCode: null, error: message, durationMs: since(started) });
    throw new Error(`Webhook to ${url} failed: ${message}`);
  }
  // The answer's body is of no interest; release the connection.
  await response.body?.cancel().catch(() => undefined);
  const ok = response.status >= 200 && response.status < 300;
  const error = ok ? null : `the endpoint answered HTTP ${response.status}`;
  await record(deps, delivery, {
    status: ok ? 'delivered' : 'failed',
    statusCode: response.status,
    error,
    durationMs: since(started),
  });
  if (!ok) throw new Error(`Webhook to ${url} failed: ${error}`);
  return { statusCode: response.status };
}

const since = (started: number) => Math.round(performance.now() - started);

function describeNetworkError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

async function record(
  deps: ActivityDeps,
  delivery: { id: string; attempts: number },
  outcome: { status: string; statusCode: number | null; error: string | null; durationMs: number },
): Promise<void> {
  await deps.db.webhookAttempt.create({
    data: {
      id: randomUUID(),
      deliveryId: delivery.id,
      attempt: delivery.attempts,
      statusCode: outcome.statusCode,
      error: outcome.error,
      durationMs: outcome.durationMs,
    },
  });
  await deps.db.webhookDelivery.update({
    where: { id: delivery.id },
    data: {
      status: outcome.status,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.error,
      ...(outcome.status === 'delivered' ? { deliveredAt: new Date() } : {}),
    },
  });
}
