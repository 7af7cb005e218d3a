import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ACME, GLOBEX, expectError, setupApi, type TestApi } from '../support/fake-api-services';

/* /v1/webhooks, /v1/webhook-secret and /v1/events. */

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

    it('accepts a private target only where INTAKE_WEBHOOK_ALLOW_TARGETS names its address and port', async () => {
      const api = setupApi({ INTAKE_WEBHOOK_ALLOW_TARGETS: '127.0.0.1:4555' });
      const post = (url: string) =>
        api.app.request('/v1/webhooks', {
          method: 'POST',
          headers: { ...ACME, 'Content-Type': 'application/json' },
          body: JSON.stringify({ url }),
        });
      expect((await post('http://127.0.0.1:4555/hook')).status).toBe(201);
      expect((await expectError(await post('http://127.0.0.1:4556/hook'), 400)).message).toMatch(
        /loopback address; private targets are refused unless listed in INTAKE_WEBHOOK_ALLOW_TARGETS/,
      );
      await expectError(await post('http://10.0.0.5:4555/hook'), 400);
      // Entries are addresses: a name is what DNS rebinding changes.
      await expectError(await post('http://localhost:4555/hook'), 400);
    });

    it('returns and rotates the signing secret', async () => {
      expect(await (await t.app.request('/v1/webhook-secret', { headers: ACME })).json()).toEqual({
        secret: 'whsec_current',
      });
      const rotated = await t.app.request('/v1/webhook-secret/rotate', { method: 'POST', headers: ACME });
      expect(await rotated.json()).toEqual({ secret: 'whsec_next', previousValidUntil: '2030-01-02T00:00:00.000Z' });
    });
  });

  describe('disabled endpoints and tenant events', () => {
    const register = async (url: string) => {
      const created = await t.app.request('/v1/webhooks', {
        method: 'POST',
        headers: { ...ACME, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url }),
      });
      return ((await created.json()) as { id: string }).id;
    };

    it('shows why an endpoint is disabled, and enabling it clears its failure state', async () => {
      const id = await register('https://example.com/hook');
      Object.assign(t.db.endpoints.get(id)!, {
        disabledAt: new Date('2026-12-06T08:00:00.000Z'),
        disabledReason: 'failed continuously for 5d (until 2026-12-06T08:00:00.000Z)',
        failingSince: new Date('2026-12-01T08:00:00.000Z'),
      });
      const listed = (await (await t.app.request('/v1/webhooks', { headers: ACME })).json()) as {
        items: Record<string, unknown>[];
      };
      expect(listed.items[0]).toMatchObject({
        id,
        disabledAt: '2026-12-06T08:00:00.000Z',
        disabledReason: 'failed continuously for 5d (until 2026-12-06T08:00:00.000Z)',
        failingSince: '2026-12-01T08:00:00.000Z',
      });

      await expectError(await t.app.request(`/v1/webhooks/${id}/enable`, { method: 'POST', headers: GLOBEX }), 404);
      const enabled = await t.app.request(`/v1/webhooks/${id}/enable`, { method: 'POST', headers: ACME });
      expect(enabled.status).toBe(200);
      expect(await enabled.json()).toMatchObject({ id, disabledAt: null, disabledReason: null, failingSince: null });
      // Enabling an enabled endpoint is harmless.
      expect((await t.app.request(`/v1/webhooks/${id}/enable`, { method: 'POST', headers: ACME })).status).toBe(200);
    });

    it('404 for enabling an unknown or removed endpoint, 400 for a malformed id, 401 without a key', async () => {
      const id = await register('https://example.com/gone');
      expect((await t.app.request(`/v1/webhooks/${id}`, { method: 'DELETE', headers: ACME })).status).toBe(204);
      expect(
        (await expectError(await t.app.request(`/v1/webhooks/${id}/enable`, { method: 'POST', headers: ACME }), 404))
          .code,
      ).toBe('webhook_not_found');
      await expectError(await t.app.request('/v1/webhooks/wh_nope/enable', { method: 'POST', headers: ACME }), 404);
      await expectError(await t.app.request('/v1/webhooks/a%20b/enable', { method: 'POST', headers: ACME }), 400);
      await expectError(await t.app.request(`/v1/webhooks/${id}/enable`, { method: 'POST' }), 401);
    });

    it("lists the tenant's own events newest first, a page at a time", async () => {
      const event = (id: string, tenantId: string, at: string) => ({
        id,
        tenantId,
        type: 'webhook.disabled',
        createdAt: new Date(at),
        data: { webhookId: 'wh_1', url: 'https://example.com/hook?[redacted]', reason: 'answered 410 Gone' },
      });
      t.db.events.push(
        event('evt_1', 'acme', '2026-12-01T00:00:00.000Z'),
        event('evt_2', 'acme', '2026-12-02T00:00:00.000Z'),
        event('evt_3', 'acme', '2026-12-03T00:00:00.000Z'),
        event('evt_x', 'globex', '2026-12-04T00:00:00.000Z'),
      );
      type Page = {
        items: { id: string; type: string; createdAt: string; data: unknown }[];
        nextCursor: string | null;
      };
      const first = (await (await t.app.request('/v1/events?limit=2', { headers: ACME })).json()) as Page;
      expect(first.items.map((e) => e.id)).toEqual(['evt_3', 'evt_2']);
      expect(first.items[0]).toEqual({
        id: 'evt_3',
        type: 'webhook.disabled',
        createdAt: '2026-12-03T00:00:00.000Z',
        data: { webhookId: 'wh_1', url: 'https://example.com/hook?[redacted]', reason: 'answered 410 Gone' },
      });
      const second = (await (
        await t.app.request(`/v1/events?limit=2&cursor=${first.nextCursor}`, { headers: ACME })
      ).json()) as Page;
      expect(second).toMatchObject({ items: [{ id: 'evt_1' }], nextCursor: null });

      await expectError(await t.app.request('/v1/events', {}), 401);
      await expectError(await t.app.request('/v1/events?cursor=not-a-cursor', { headers: ACME }), 400);
      await expectError(await t.app.request('/v1/events?limit=0', { headers: ACME }), 400);
      const theirs = (await (await t.app.request('/v1/events', { headers: GLOBEX })).json()) as Page;
      expect(theirs.items.map((e) => e.id)).toEqual(['evt_x']);
    });
  });
});
