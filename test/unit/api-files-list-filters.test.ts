import { describe, expect, it, vi } from 'vitest';
import { ACME, expectError, setupApi } from '../support/fake-api-services';

/* GET /v1/files ?tag, ?createdFrom, ?createdBefore: checked before any query runs. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('GET /v1/files filters', () => {
  it('takes a tag and a date range', async () => {
    const t = setupApi();
    const res = await t.app.request(
      '/v1/files?tag=invoices&createdFrom=2026-12-01T00:00:00Z&createdBefore=2026-12-31T00:00:00%2B01:00',
      { headers: ACME },
    );
    expect(res.status).toBe(200);
  });

  it('answers 400 for a date that is not one, or one that does not exist', async () => {
    const t = setupApi();
    await expectError(await t.app.request('/v1/files?createdFrom=yesterday', { headers: ACME }), 400);
    const impossible = await expectError(
      await t.app.request('/v1/files?createdBefore=2026-02-31T00:00:00Z', { headers: ACME }),
      400,
    );
    expect(impossible.message).toMatch(/createdBefore/);
    await expectError(await t.app.request('/v1/files?createdFrom=0000-01-01T00:00:00Z', { headers: ACME }), 400);
  });
});
