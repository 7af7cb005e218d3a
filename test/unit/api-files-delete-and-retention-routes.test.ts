import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { FileState } from '../../common/domain';
import { ACME, expectError, seedFile, setupApi, type TestApi } from '../support/fake-api-services';

/* DELETE /v1/files/{id} and PATCH /v1/files/{id}/retention. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(() => {
    t = setupApi();
  });

  describe('delete and retention', () => {
    it('DELETE signals the workflow and answers 202; a deleted file answers 410', async () => {
      seedFile(t, { id: 'f_d' });
      const res = await t.app.request('/v1/files/f_d', { method: 'DELETE', headers: ACME });
      expect(res.status).toBe(202);
      expect(t.temporal.signals).toEqual([
        { workflowId: 'upload-f_d', name: 'delete', args: [{ reason: 'requested' }] },
      ]);
      seedFile(t, { id: 'f_gone', status: 'DELETED' });
      await expectError(await t.app.request('/v1/files/f_gone', { method: 'DELETE', headers: ACME }), 410);
      seedFile(t, { id: 'f_closed' });
      t.temporal.signalError = new WorkflowNotFoundError('not found', 'upload-f_closed', undefined);
      await expectError(await t.app.request('/v1/files/f_closed', { method: 'DELETE', headers: ACME }), 410);
    });

    it('DELETE answers 409 while a legal hold is on, whether the workflow or only Postgres says so', async () => {
      seedFile(t, { id: 'f_held' });
      t.temporal.queryResult = { hold: true } as FileState;
      const held = await expectError(await t.app.request('/v1/files/f_held', { method: 'DELETE', headers: ACME }), 409);
      expect(held.code).toBe('file_on_hold');
      t.temporal.queryResult = null;
      seedFile(t, { id: 'f_held_row', hold: true });
      await expectError(await t.app.request('/v1/files/f_held_row', { method: 'DELETE', headers: ACME }), 409);
      expect(t.temporal.signals).toEqual([]);
    });

    it('PATCH retention answers the new expiry and hold', async () => {
      seedFile(t, { id: 'f_r' });
      const res = await t.app.request('/v1/files/f_r/retention', {
        method: 'PATCH',
        headers: { ...ACME, 'Content-Type': 'application/json' },
        body: JSON.stringify({ extendBy: '30d' }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ expiresAt: '2030-01-01T00:00:00.000Z', hold: false });
    });

    it('PATCH retention: 400 for a rejected update, a malformed body, or two changes at once; 415 for non-JSON', async () => {
      seedFile(t, { id: 'f_r' });
      const patch = (body: string, type = 'application/json') =>
        t.app.request('/v1/files/f_r/retention', { method: 'PATCH', headers: { ...ACME, 'Content-Type': type }, body });
      t.temporal.updateError = new WorkflowUpdateFailedError(
        'Workflow Update failed',
        new Error('expiresAt must be in the future'),
      );
      const rejected = await expectError(
        await patch(JSON.stringify({ expiresAt: '2001-01-01T00:00:00Z' })),
        400,
        'invalid_retention',
      );
      expect(rejected.message).toContain('future');
      await expectError(await patch(JSON.stringify({ hold: true, extendBy: '1d' })), 400);
      await expectError(await patch(JSON.stringify({ extendBy: '30' })), 400);
      await expectError(await patch(JSON.stringify({ extendBy: 'forever' })), 400);
      await expectError(await patch('{not json'), 400);
      await expectError(await patch('hold=true', 'text/plain'), 415);
    });
  });

  describe('retention while no worker answers', () => {
    it('PATCH retention answers 503, not 500, when Temporal refuses the update because the workflow task failed', async () => {
      seedFile(t, { id: 'f_r', status: 'PROCESSING' });
      t.temporal.updateError = new ServiceError('Workflow Update failed', {
        cause: Object.assign(
          new Error(
            '9 FAILED_PRECONDITION: Unable to perform workflow execution update due to Workflow Task in failed state.',
          ),
          { code: 9 },
        ),
      });
      const error = await expectError(
        await t.app.request('/v1/files/f_r/retention', {
          method: 'PATCH',
          headers: { ...ACME, 'Content-Type': 'application/json' },
          body: JSON.stringify({ extendBy: '30d' }),
        }),
        503,
        'dependency_unavailable',
      );
      expect(error.message).toMatch(/retry/);
    });
  });
});
