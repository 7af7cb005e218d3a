import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../../infra/webhook-receiver';
import { ACME, GLOBEX, expectError, setupApi, type TestApi } from '../support/fake-api-services';

/* POST /v1/webhooks/{id}/test: one signed test event, sent now through the delivery guard. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('POST /v1/webhooks/{id}/test', () => {
  let t: TestApi;
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    t = setupApi({ INTAKE_WEBHOOK_ALLOW_PRIVATE: 'true' });
  });
  afterEach(async () => {
    await receiver.close();
  });

  const register = async (url: string) => {
    const created = await t.app.request('/v1/webhooks', {
      method: 'POST',
      headers: { ...ACME, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { id: string }).id;
  };

  it('sends a webhook.test event signed with the tenant secret, and says the endpoint took it', async () => {
    const id = await register(receiver.url('/hook'));
    const res = await t.app.request(`/v1/webhooks/${id}/test`, { method: 'POST', headers: ACME });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { delivered: boolean; statusCode: number; messageId: string };
    expect(result).toMatchObject({ delivered: true, statusCode: 204, error: null });
    const got = await receiver.waitFor('the test event', (w) => w.path === '/hook');
    expect(got.headers['webhook-id']).toBe(result.messageId);
    const body = new Webhook('whsec_current').verify(got.body, got.headers) as { type: string; data: object };
    expect(body).toMatchObject({ type: 'webhook.test', data: { webhookId: id } });
  });

  it("reports a failing endpoint's answer instead of failing itself", async () => {
    const id = await register(receiver.url('/down'));
    receiver.failWith(503);
    const result = (await (
      await t.app.request(`/v1/webhooks/${id}/test`, { method: 'POST', headers: ACME })
    ).json()) as {
      delivered: boolean;
      statusCode: number;
      error: string;
    };
    expect(result).toMatchObject({ delivered: false, statusCode: 503 });
    expect(result.error).toContain('503');
  });

  it('reports a name that does not resolve as not delivered, not as a server error', async () => {
    const id = await register('https://no-such-host.invalid/hook');
    const res = await t.app.request(`/v1/webhooks/${id}/test`, { method: 'POST', headers: ACME });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ delivered: false, statusCode: null });
  });

  it("404 for an unknown endpoint or another tenant's", async () => {
    const id = await register(receiver.url('/hook'));
    await expectError(await t.app.request(`/v1/webhooks/${id}/test`, { method: 'POST', headers: GLOBEX }), 404);
    await expectError(await t.app.request('/v1/webhooks/wh_nope/test', { method: 'POST', headers: ACME }), 404);
  });
});
