import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ACME, cursorFor, expectError, seedFile, setupApi, type TestApi } from '../support/fake-api-services';

/* Every error answer's status and shape: auth, unknown routes, validation and dependency outages. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(() => {
    t = setupApi();
  });

  describe('errors', () => {
    it('401 without an API key, and with an unknown one', async () => {
      const missing = await t.app.request('/v1/files');
      await expectError(missing, 401, 'unauthorized');
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectError(await t.app.request('/v1/files', { headers: { Authorization: 'Bearer nope-nope-nope' } }), 401);
      await expectError(await t.app.request('/v1/files', { headers: { Authorization: 'Basic abc' } }), 401);
    });

    it('404 JSON for unknown routes', async () => {
      await expectError(await t.app.request('/nowhere'), 404, 'not_found');
      await expectError(await t.app.request('/v1/nowhere', { headers: ACME }), 404, 'not_found');
    });

    it('405 JSON with Allow for a known path and the wrong method', async () => {
      const res = await t.app.request('/v1/files', { method: 'PUT', headers: ACME });
      await expectError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).toContain('POST');
      await expectError(await t.app.request('/healthz', { method: 'POST' }), 405);
      await expectError(await t.app.request('/v1/files/f_x/content', { method: 'DELETE', headers: ACME }), 405);
    });

    it('400 for invalid query parameters, naming the field', async () => {
      const error = await expectError(
        await t.app.request('/v1/files?limit=1000', { headers: ACME }),
        400,
        'invalid_request',
      );
      expect(error.message).toMatch(/limit/);
      await expectError(await t.app.request('/v1/files?cursor=garbage', { headers: ACME }), 400);
      await expectError(await t.app.request('/v1/files?status=NOPE', { headers: ACME }), 400);
    });

    it('404, not a 405 that names the method it got, for a known path with a trailing slash', async () => {
      await expectError(await t.app.request('/v1/files/', { headers: ACME }), 404, 'not_found');
      await expectError(await t.app.request('/v1/files/f_x/', { headers: ACME }), 404, 'not_found');
      await expectError(await t.app.request('/healthz/'), 404, 'not_found');
    });

    it('400, not a 500 from Postgres, for a NUL byte in an id or a search', async () => {
      for (const path of [
        '/v1/files/f_%00',
        '/v1/files/f_%00/content',
        '/v1/files?q=a%00b',
        '/v1/files?contentType=image%2F%00',
        '/v1/webhooks/wh_%00/deliveries',
      ]) {
        await expectError(await t.app.request(path, { headers: ACME }), 400, 'invalid_request');
      }
      await expectError(
        await t.app.request('/v1/webhooks/wh_%00', { method: 'DELETE', headers: ACME }),
        400,
        'invalid_request',
      );
    });

    it('400 for a forged cursor that decodes but names no row Postgres could hold', async () => {
      for (const forged of [
        ['-100000-01-01T00:00:00.000Z', 'f_x'],
        ['+275760-09-13T00:00:00.000Z', 'f_x'],
        ['0000-01-01T00:00:00.000Z', 'f_x'],
        ['2026-01-01T00:00:00.000Z', 'f_\u0000'],
        ['2026-01-01T00:00:00.000Z'],
        '20',
        { createdAt: '2026-01-01T00:00:00.000Z', id: 'f_x' },
      ]) {
        const error = await expectError(
          await t.app.request(`/v1/files?cursor=${cursorFor(forged)}`, { headers: ACME }),
          400,
          'invalid_request',
        );
        expect(error.message).toMatch(/cursor/);
      }
    });

    it('500 for an unexpected error: JSON, no stack trace, no internals', async () => {
      t.db.fail = new Error('secret internal detail');
      const error = await expectError(await t.app.request('/v1/files/f_x', { headers: ACME }), 500, 'internal_error');
      expect(error.message).not.toContain('secret');
    });

    it('503 quickly when Postgres does not answer', async () => {
      seedFile(t, { id: 'f_hang' });
      t.db.hang = true;
      const started = Date.now();
      // Auth itself needs Postgres; the mock answers auth, so the hang hits the file look-up.
      const res = await t.app.request('/v1/files/f_hang', { headers: ACME });
      expect(Date.now() - started).toBeLessThan(7_000);
      await expectError(res, 503, 'dependency_unavailable');
    });

    it('503 with Retry-After, not 500, while Postgres crashes, restarts and recovers', async () => {
      // The errors @prisma/adapter-pg raised against a real PostgreSQL killed with SIGKILL and restarted.
      const adapterError = (code: string, message: string) =>
        Object.assign(new Error(message), {
          name: 'DriverAdapterError',
          cause: { kind: 'postgres', code, originalCode: code, message },
        });
      for (const fail of [
        adapterError('57P01', 'terminating connection due to unexpected postmaster exit'),
        adapterError('57P03', 'the database system is starting up'),
        adapterError('57P03', 'the database system is not yet accepting connections'),
        Object.assign(new Error("Can't reach database server"), {
          name: 'PrismaClientKnownRequestError',
          code: 'P1001',
        }),
      ]) {
        t.db.fail = fail;
        await expectError(await t.app.request('/v1/files', { headers: ACME }), 503, 'dependency_unavailable');
      }
    });

    it('503 when S3 answers 5xx', async () => {
      t.db.fail = Object.assign(new Error('We encountered an internal error'), {
        name: 'InternalError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
      await expectError(await t.app.request('/v1/files', { headers: ACME }), 503, 'dependency_unavailable');
    });

    it('503 when a dependency refuses connections', async () => {
      t.db.fail = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      await expectError(await t.app.request('/v1/files', { headers: ACME }), 503, 'dependency_unavailable');
    });
  });
});
