import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ACME, expectError, setupApi, type TestApi } from '../support/fake-api-services';

/* GET /healthz, /readyz, /openapi.json and /docs through app.request() with fakes. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(() => {
    t = setupApi();
  });

  describe('health and docs', () => {
    it('answers /healthz without authentication', async () => {
      const res = await t.app.request('/healthz');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    it('reports ready when every dependency answers', async () => {
      const res = await t.app.request('/readyz');
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(body.status).toBe('ready');
      expect(Object.keys(body.checks).sort()).toEqual(['clamd', 'postgres', 's3', 'temporal']);
    });

    it('answers 503 naming the failing dependencies, within the probe budget', async () => {
      t.clamd.up = false;
      t.temporal.down = true;
      const started = Date.now();
      const res = await t.app.request('/readyz');
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { failing: string[]; error: { code: string } };
      expect(body.failing.sort()).toEqual(['clamd', 'temporal']);
      expect(body.error.code).toBe('not_ready');
    });

    it('tells anyone which dependency fails, but no internal address or credential', async () => {
      t.db.fail = Object.assign(new Error('password authentication failed for user "intake" at db.internal:5432'), {
        name: 'PrismaClientKnownRequestError',
        code: 'P1000',
      });
      t.clamd.up = false;
      const res = await t.app.request('/readyz');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const body = (await res.json()) as { failing: string[]; checks: Record<string, { error?: string }> };
      expect(body.failing.sort()).toEqual(['clamd', 'postgres']);
      const text = JSON.stringify(body);
      expect(text).not.toMatch(/db\.internal|5432|intake"|password/);
      expect(body.checks.postgres?.error).toBe('Postgres answered with an error');
    });

    it('serves the OpenAPI document with the bearer scheme and every route', async () => {
      const res = await t.app.request('/openapi.json');
      expect(res.status).toBe(200);
      const doc = (await res.json()) as {
        components: { securitySchemes: Record<string, unknown> };
        paths: Record<string, object>;
      };
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v1/files',
          '/v1/files/{id}',
          '/v1/files/{id}/content',
          '/v1/files/{id}/renditions/{name}',
          '/v1/files/{id}/retention',
          '/v1/webhooks',
          '/v1/webhooks/{id}',
          '/v1/webhooks/{id}/deliveries',
          '/v1/webhook-secret',
          '/v1/webhook-secret/rotate',
          '/v1/schemas',
          '/v1/schemas/{name}',
          '/v1/analytics/summary',
          '/healthz',
          '/readyz',
          '/v1/tus/',
          '/v1/tus/{id}',
        ]),
      );
    });

    it('documents the tus routes with their protocol headers', async () => {
      const doc = (await (await t.app.request('/openapi.json')).json()) as {
        paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: object }>>;
      };
      expect(Object.keys(doc.paths['/v1/tus/']!).sort()).toEqual(['options', 'post']);
      expect(Object.keys(doc.paths['/v1/tus/{id}']!).sort()).toEqual(['delete', 'head', 'patch']);
      const headers = (path: string, method: string) =>
        doc.paths[path]![method]!.parameters!.filter((p) => p.in === 'header').map((p) => p.name);
      expect(headers('/v1/tus/', 'post')).toEqual(['tus-resumable', 'upload-length', 'upload-metadata']);
      expect(headers('/v1/tus/{id}', 'patch')).toEqual(['tus-resumable', 'upload-offset']);
      expect(doc.paths['/v1/tus/{id}']!.head!.responses).toHaveProperty('200.headers.Intake-File-Id');
    });

    it('documents /healthz and /readyz as needing no API key, unlike the /v1 routes', async () => {
      const doc = (await (await t.app.request('/openapi.json')).json()) as {
        security: unknown[];
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
      expect(doc.security).toEqual([{ bearerAuth: [] }]);
      expect(doc.paths['/healthz']!.get!.security).toEqual([]);
      expect(doc.paths['/readyz']!.get!.security).toEqual([]);
      expect(doc.paths['/v1/files']!.get!.security).toEqual([{ bearerAuth: [] }]);
    });

    it('documents the 400 of a malformed id and the 413 of an oversized JSON body', async () => {
      const doc = (await (await t.app.request('/openapi.json')).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      const statuses = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses);
      expect(statuses('/v1/files/{id}', 'delete')).toContain('400');
      expect(statuses('/v1/webhooks/{id}', 'delete')).toContain('400');
      expect(statuses('/v1/files/{id}/retention', 'patch')).toContain('413');
      expect(statuses('/v1/webhooks', 'post')).toContain('413');
      await expectError(await t.app.request('/v1/files/f_%00', { method: 'DELETE', headers: ACME }), 400);
      await expectError(
        await t.app.request('/v1/files/f_x/retention', {
          method: 'PATCH',
          headers: { ...ACME, 'Content-Type': 'application/json' },
          body: JSON.stringify({ extendBy: '1d', pad: 'x'.repeat(70_000) }),
        }),
        413,
      );
    });

    it('serves an interactive reference page at /docs', async () => {
      const res = await t.app.request('/docs');
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('/openapi.json');
      // The page must work without internet: its script comes from this server, not a CDN.
      expect(page).toContain('/docs/scalar.js');
      expect(page).not.toMatch(/<script[^>]+src="https?:/);
      const script = await t.app.request('/docs/scalar.js');
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    });
  });
});
