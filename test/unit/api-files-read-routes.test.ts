import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { FileState } from '../../common/domain';
import { storageKeys } from '../../lib/storage-keys';
import { ACME, GLOBEX, expectError, seedFile, setupApi, type TestApi } from '../support/fake-api-services';

/* GET /v1/files and /v1/files/{id}: descriptions, tenant isolation, long-poll and pages. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(() => {
    t = setupApi();
  });

  describe('GET /v1/files/{id}', () => {
    it('describes a processing file from the workflow query', async () => {
      seedFile(t, { id: 'f_p', status: 'PROCESSING', renditions: [] });
      t.temporal.queryResult = {
        status: 'PROCESSING',
        steps: { scan: { state: 'running', attempts: 1 } },
        renditions: [],
        tags: ['q'],
      } as unknown as FileState;
      const res = await t.app.request('/v1/files/f_p', { headers: ACME });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ id: 'f_p', status: 'PROCESSING', tags: ['q'], workflowId: 'upload-f_p' });
      expect((body.steps as Record<string, { state: string }>).scan?.state).toBe('running');
    });

    it('describes a finished file from Postgres, with absolute rendition URLs', async () => {
      seedFile(t, { id: 'f_r' });
      const body = (await (await t.app.request('/v1/files/f_r', { headers: ACME })).json()) as {
        status: string;
        size: number;
        renditions: { name: string; url: string }[];
        links: Record<string, string>;
      };
      expect(body.status).toBe('READY');
      expect(body.size).toBe(3);
      expect(body.renditions[0]).toMatchObject({ name: 'thumb', url: 'http://api.test/v1/files/f_r/renditions/thumb' });
      expect(body.links.content).toBe('http://api.test/v1/files/f_r/content');
    });

    it("404 for another tenant's file, exactly as for a missing one", async () => {
      seedFile(t, { id: 'f_acme' });
      const theirs = await expectError(await t.app.request('/v1/files/f_acme', { headers: GLOBEX }), 404);
      const missing = await expectError(await t.app.request('/v1/files/f_none', { headers: GLOBEX }), 404);
      expect(theirs.code).toBe(missing.code);
      expect(theirs.message.replace('f_acme', 'ID')).toBe(missing.message.replace('f_none', 'ID'));
      await expectError(await t.app.request('/v1/files/f_acme/content', { headers: GLOBEX }), 404);
      await expectError(await t.app.request('/v1/files/f_acme', { method: 'DELETE', headers: GLOBEX }), 404);
    });

    it('long-polls with ?wait until the status leaves PROCESSING', async () => {
      const row = seedFile(t, { id: 'f_w', status: 'PROCESSING' });
      setTimeout(() => Object.assign(row, { status: 'READY' }), 700);
      const started = Date.now();
      const body = (await (await t.app.request('/v1/files/f_w?wait=10s', { headers: ACME })).json()) as {
        status: string;
      };
      expect(body.status).toBe('READY');
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      await expectError(await t.app.request('/v1/files/f_w?wait=soon', { headers: ACME }), 400);
    });

    it('reads a bare ?wait number as seconds', async () => {
      const row = seedFile(t, { id: 'f_s', status: 'PROCESSING' });
      setTimeout(() => Object.assign(row, { status: 'READY' }), 500);
      const body = (await (await t.app.request('/v1/files/f_s?wait=5', { headers: ACME })).json()) as {
        status: string;
      };
      expect(body.status).toBe('READY');
    });

    it('never long-polls past the wait, even while the status query hangs (no worker)', async () => {
      seedFile(t, { id: 'f_h', status: 'PROCESSING' });
      t.temporal.queryHang = true;
      const started = Date.now();
      const res = await t.app.request('/v1/files/f_h?wait=2s', { headers: ACME });
      const elapsed = Date.now() - started;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe('PROCESSING');
      expect(elapsed).toBeGreaterThanOrEqual(1_900);
      expect(elapsed).toBeLessThan(2_900);
    });

    it('a read of a processing file whose workflow never started starts it (the API died after the insert)', async () => {
      seedFile(t, { id: 'f_lost', status: 'PROCESSING', renditions: [], storageKey: 'incoming/acme/f_lost' });
      t.s3.objects.set(storageKeys.incoming('acme', 'f_lost'), Buffer.from('abc'));
      const res = await t.app.request('/v1/files/f_lost', { headers: ACME });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe('PROCESSING');
      expect(t.temporal.started).toHaveLength(1);
      expect(t.temporal.started[0]?.options).toMatchObject({ workflowId: 'upload-f_lost' });
      // The next read finds the workflow: nothing is started twice.
      await t.app.request('/v1/files/f_lost?wait=1s', { headers: ACME });
      expect(t.temporal.started).toHaveLength(1);
    });

    it('a long-poll repairs a lost workflow too, and never restarts an upload whose bytes are gone', async () => {
      seedFile(t, { id: 'f_lost2', status: 'PROCESSING', renditions: [] });
      seedFile(t, { id: 'f_gone', status: 'PROCESSING', renditions: [] });
      t.s3.objects.set(storageKeys.incoming('acme', 'f_lost2'), Buffer.from('abc'));
      expect((await t.app.request('/v1/files/f_lost2?wait=1s', { headers: ACME })).status).toBe(200);
      expect((await t.app.request('/v1/files/f_gone?wait=1s', { headers: ACME })).status).toBe(200);
      expect(t.temporal.started.map((s) => s.options.workflowId)).toEqual(['upload-f_lost2']);
    });

    it('says why a deleted file went, and keeps an earlier reason', async () => {
      seedFile(t, { id: 'f_del', status: 'DELETED', reason: null, deletionReason: 'requested' });
      seedFile(t, { id: 'f_rej', status: 'DELETED', reason: 'not an image', deletionReason: 'expired' });
      const reasonOf = async (id: string) =>
        ((await (await t.app.request(`/v1/files/${id}`, { headers: ACME })).json()) as { reason: string | null })
          .reason;
      expect(await reasonOf('f_del')).toBe('requested');
      expect(await reasonOf('f_rej')).toBe('not an image');
      seedFile(t, { id: 'f_ok' });
      expect(await reasonOf('f_ok')).toBeNull();
    });

    it('lists the tenant files newest first with a cursor', async () => {
      seedFile(t, { id: 'f_1', createdAt: new Date(1000) });
      seedFile(t, { id: 'f_2', createdAt: new Date(2000) });
      seedFile(t, { id: 'f_g', tenantId: 'globex' });
      const page = (await (await t.app.request('/v1/files?limit=1', { headers: ACME })).json()) as {
        items: { id: string }[];
        nextCursor: string | null;
      };
      expect(page.items.map((f) => f.id)).toEqual(['f_2']);
      expect(page.nextCursor).toEqual(expect.any(String));
      const next = await t.app.request(`/v1/files?limit=1&cursor=${page.nextCursor}`, { headers: ACME });
      expect(next.status).toBe(200);
    });
  });
});
