import { randomUUID } from 'node:crypto';
import { formatDuration } from '../common/durations';
import { webhookTargetRefusal, type WebhookGuardPolicy } from '../lib/webhook-guard';
import { webhookFetch } from '../lib/webhook-http';
import { getWebhookSecrets } from '../prisma/tenants';
import { disableEndpoint, endpointStopped, markEndpointDelivered, markEndpointFailing } from '../prisma/webhooks';
import type { ActivityDeps } from './deps';
import { webhookRefused, webhookRejected, webhookUnavailable } from '../common/failures';
import { redactUrl } from '../common/redact';
import type { DeliverWebhookInput, DeliverWebhookResult } from './types';
import { buildEventBody, webhookHeaders } from './webhook-message';

const REQUEST_TIMEOUT_MS = 10_000;

const fetchers = new WeakMap<WebhookGuardPolicy, typeof fetch>();
/** One guarded fetch (and connection pool) per process and setting. */
function defaultFetch(policy: WebhookGuardPolicy): typeof fetch {
  let found = fetchers.get(policy);
  if (!found) fetchers.set(policy, (found = webhookFetch(policy)));
  return found;
}

/** The longest Retry-After honoured: a receiver cannot park a delivery for days. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * What an answer means, as Standard Webhooks and Svix read it: 2xx delivered; 410 Gone disables the
 * endpoint; any other 4xx but 408 and 429 is permanent; 408, 429, 5xx (and an unfollowed 3xx) are
 * retried, after the answer's Retry-After when it gives one.
 */
export function answerMeaning(
  status: number,
  retryAfter: string | null,
  now = Date.now(),
): { kind: 'delivered' } | { kind: 'gone' } | { kind: 'rejected' } | { kind: 'retry'; afterMs: number | null } {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone' };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'rejected' };
  return { kind: 'retry', afterMs: retryAfterMs(retryAfter, now) };
}

/** Retry-After as seconds or an HTTP date, bounded; null when absent or unreadable. */
function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(ms, 1000), MAX_RETRY_AFTER_MS);
}

/**
 * Sends one signed event to one target and records the attempt. A retryable answer or a network error
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

  // A retry of a delivery planned before its endpoint was disabled (or removed) ends here, for good:
  // retrying for the rest of its schedule would only add failures nobody will read.
  const stopped = endpointId ? await endpointStopped(db, endpointId) : null;
  if (stopped) {
    await db.webhookDelivery.updateMany({
      where: key.messageId_url,
      data: { status: 'abandoned', lastError: stopped },
    });
    throw webhookRejected(`Webhook to ${redactUrl(url)} not sent: ${stopped}`);
  }

  // Checked before the attempt is counted, for a clear refusal; the connection checks again what it
  // actually connects to (lib/webhook-http.ts), which closes the DNS-rebinding gap in between.
  const refusal = await webhookTargetRefusal(url, config.webhooks);
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
    await endpointFailed(deps, endpointId);
    throw webhookRefused(refusal);
  }

  const timestamp = new Date();
  const body = JSON.stringify(buildEventBody(config.publicUrl, input, timestamp));
  const started = performance.now();
  let response: Response;
  try {
    response = await (deps.fetch ?? defaultFetch(config.webhooks))(url, {
      method: 'POST',
      headers: webhookHeaders(secrets, input.messageId, timestamp, body),
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'EWEBHOOKREFUSED') {
      // The name now points somewhere private (DNS rebinding): refused, as the pre-check would have.
      const reason = cause.message ?? 'refused at connect time';
      await record(deps, delivery, { status: 'refused', statusCode: null, error: reason, durationMs: since(started) });
      await endpointFailed(deps, endpointId);
      throw webhookRefused(reason);
    }
    const message = describeNetworkError(error);
    await record(deps, delivery, { status: 'failed', statusCode: null, error: message, durationMs: since(started) });
    const failure = `Webhook to ${redactUrl(url)} failed: ${message}`;
    if (await endpointFailed(deps, endpointId)) throw webhookRejected(`${failure} (endpoint disabled)`);
    throw new Error(failure);
  }
  // The answer's body is of no interest; release the connection.
  await response.body?.cancel().catch(() => undefined);
  const meaning = answerMeaning(response.status, response.headers.get('retry-after'));
  const ok = meaning.kind === 'delivered';
  const error = ok ? null : `the endpoint answered HTTP ${response.status}`;
  const status = { delivered: 'delivered', gone: 'gone', rejected: 'rejected', retry: 'failed' }[meaning.kind];
  await record(deps, delivery, { status, statusCode: response.status, error, durationMs: since(started) });
  if (ok) {
    if (endpointId) await markEndpointDelivered(db, endpointId);
    return { statusCode: response.status };
  }
  if (meaning.kind === 'gone') {
    if (endpointId) await disable(deps, endpointId, `answered 410 Gone on ${new Date().toISOString()}`);
    throw webhookRejected(`Webhook to ${redactUrl(url)} refused for good: ${error} (endpoint disabled)`);
  }
  const nowDisabled = await endpointFailed(deps, endpointId);
  if (meaning.kind === 'rejected') throw webhookRejected(`Webhook to ${redactUrl(url)} refused: ${error}`);
  if (meaning.kind === 'retry') {
    const message = `Webhook to ${redactUrl(url)} failed: ${error}`;
    // This failure disabled the endpoint: no retry is to follow.
    if (nowDisabled) throw webhookRejected(`${message} (endpoint disabled)`);
    if (meaning.afterMs !== null) throw webhookUnavailable(message, meaning.afterMs);
    throw new Error(message);
  }
  return { statusCode: response.status };
}

/**
 * A failed attempt to a registered endpoint (any answer but 2xx, no answer, a refused target): the
 * endpoint is failing from now unless it already was, and one failing for INTAKE_WEBHOOK_DISABLE_AFTER
 * is disabled, as Svix does. Both are conditional single-row updates (prisma/webhooks.ts), so the many
 * deliveries that fail at once agree on one failingSince and disable the endpoint once.
 */
async function endpointFailed(deps: ActivityDeps, endpointId: string | null): Promise<boolean> {
  if (!endpointId) return false;
  const now = new Date();
  await markEndpointFailing(deps.db, endpointId, now);
  const disableAfterMs = deps.config.webhooks.disableAfterMs;
  const cutoff = new Date(now.getTime() - disableAfterMs);
  const reason = `failed continuously for ${formatDuration(disableAfterMs)} (until ${now.toISOString()})`;
  const disabled = await disableEndpoint(deps.db, { endpointId, reason, now, failingSinceAtOrBefore: cutoff });
  if (disabled) deps.log?.warn({ endpointId, reason }, 'webhook endpoint disabled');
  return disabled;
}

/** Stops all further deliveries to a registered endpoint, saying why; the first reason stays. */
async function disable(deps: ActivityDeps, endpointId: string, reason: string): Promise<void> {
  if (await disableEndpoint(deps.db, { endpointId, reason, now: new Date() })) {
    deps.log?.warn({ endpointId, reason }, 'webhook endpoint disabled');
  }
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
