import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/env';
import { redactUrl } from '../../common/redact';
import { webhookTargetRefusal } from '../../lib/webhook-guard';
import { webhookFetch } from '../../lib/webhook-http';
import { webhookHeaders } from '../../activities/webhook-message';

/** What one test delivery did: sent once, now, never retried and not in the delivery log. */
export interface TestDeliveryResult {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  messageId: string;
}

const REQUEST_TIMEOUT_MS = 10_000;
const fetchers = new WeakMap<Config['webhooks'], typeof fetch>();

/**
 * Sends a signed `webhook.test` event to an endpoint, through the same guard as real deliveries (the
 * SSRF checks before and at connect time, no redirects followed), so "it works from the console" means
 * the real deliveries will reach it too.
 */
export async function sendTestEvent(
  config: Config,
  endpoint: { id: string; url: string },
  secrets: readonly string[],
  send?: typeof fetch,
): Promise<TestDeliveryResult> {
  const messageId = `msg_test_${randomUUID()}`;
  // A name that does not resolve is the endpoint's problem to report, not the API's to fail on.
  const refusal = await webhookTargetRefusal(endpoint.url, config.webhooks).catch(
    (error: unknown) => `${redactUrl(endpoint.url)}: ${error instanceof Error ? error.message : String(error)}`,
  );
  if (refusal) return { delivered: false, statusCode: null, error: refusal, durationMs: 0, messageId };
  let guarded = send ?? fetchers.get(config.webhooks);
  if (!guarded) fetchers.set(config.webhooks, (guarded = webhookFetch(config.webhooks)));
  const timestamp = new Date();
  const body = JSON.stringify({
    type: 'webhook.test',
    timestamp: timestamp.toISOString(),
    data: {
      webhookId: endpoint.id,
      message: 'A test event sent from the Intake console or POST /v1/webhooks/{id}/test',
    },
  });
  const started = performance.now();
  try {
    const answer = await guarded(endpoint.url, {
      method: 'POST',
      headers: webhookHeaders(secrets, messageId, timestamp, body),
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await answer.body?.cancel();
    const delivered = answer.status >= 200 && answer.status < 300;
    return {
      delivered,
      statusCode: answer.status,
      error: delivered ? null : `${redactUrl(endpoint.url)} answered ${answer.status}`,
      durationMs: Math.round(performance.now() - started),
      messageId,
    };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause;
    return {
      delivered: false,
      statusCode: null,
      error: cause?.message ?? (error instanceof Error ? error.message : String(error)),
      durationMs: Math.round(performance.now() - started),
      messageId,
    };
  }
}
