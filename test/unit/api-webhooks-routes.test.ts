import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ACME, GLOBEX, expectError, setupApi, type TestApi } from '../support/fake-api-services';

/* /v1/webhooks and /v1/webhook-secret. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(() => {
    t = setupApi();
  });

  describe('webhooks', () => {
    it('registers, lists, shows deliveries and removes an endpoint', async () => {
      const created = await t.app.request('/v1/webhooks', {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/hook', events: ['file.ready'] }),
      });
      expect(created.status).toBe(201);
      const hook = (await created.json()) as { id: string; url: string; events: string[] };
      expect(hook).toMatchObject({ url: 'https://example.com/hook', events: ['file.ready'] });

      const list = (await (await t.app.request('/v1/webhooks', { headers: ACME })).json()) as {
        items: { id: string }[];
      };
      expect(list.items.map((h) => h.id)).toEqual([hook.id]);
      const theirs = (await (await t.app.request('/v1/webhooks', { headers: GLOBEX })).json()) as { items: unknown[] };
      expect(theirs.items).toEqual([]);

      const deliveries = (await (
        await t.app.request(`/v1/webhooks/${hook.id}/deliveries`, { headers: ACME })
      ).json()) as {
        items: { attempts: number; attemptLog: { statusCode: number }[] }[];
      };
      expect(deliveries.items[0]!.attemptLog.map((a) => a.statusCode)).toEqual([500, 200]);
      await expectError(await t.app.request(`/v1/webhooks/${hook.id}/deliveries`, { headers: GLOBEX }), 404);

      expect((await t.app.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: GLOBEX })).status).toBe(404);
      expect((await t.app.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: ACME })).status).toBe(204);
      await expectError(await t.app.request(`/v1/webhooks/${hook.id}`, { method: 'DELETE', headers: ACME }), 404);
    });

    it('400 for a non-http URL or an unknown event', async () => {
      const post = (body: unknown) =>
        t.app.request('/v1/webhooks', {
          method: 'POST',
          headers: { ...ACME, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      await expectError(await post({ url: 'file:///etc/passwd' }), 400);
      expect((await expectError(await post({ url: 'http://127.0.0.1:8080/hook' }), 400)).message).toMatch(/loopback/);
      await expectError(await post({ url: 'http://169.254.169.254/latest' }), 400);
      await expectError(await post({ url: 'https://user:pw@example.com/' }), 400);
      await expectError(await post({ url: 'https://example.com', events: ['file.exploded'] }), 400);
      await expectError(await post({}), 400);
      await expectError(await post({ url: `https://example.com/${'x'.repeat(70_000)}` }), 413);
    });

    it('returns and rotates the signing secret', async () => {
      expect(await (await t.app.request('/v1/webhook-secret', { headers: ACME })).json()).toEqual({
        secret: 'whsec_current',
      });
      const rotated = await t.app.request('/v1/webhook-secret/rotate', { method: 'POST', headers: ACME });
      expect(await rotated.json()).toEqual({ secret: 'whsec_next', previousValidUntil: '2030-01-02T00:00:00.000Z' });
    });
  });
});
