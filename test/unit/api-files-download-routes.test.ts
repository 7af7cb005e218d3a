import { beforeEach, describe, expect, it, vi } from 'vitest';
import { contentDisposition } from '../../api/serve-object';
import { ACME, expectError, seedFile, setupApi, type TestApi } from '../support/fake-api-services';

/* GET /v1/files/{id}/content and /renditions/{name}: headers, HEAD, redirects and refusals. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('HTTP API routes', () => {
  let t: TestApi;
  beforeEach(() => {
    t = setupApi();
  });

  describe('downloads', () => {
    it('streams READY content with type, length and a safe Content-Disposition', async () => {
      seedFile(t, { id: 'f_d', filename: 'my "photo".jpg' });
      t.s3.objects.set('files/acme/f_d/original', Buffer.from('abc'));
      const res = await t.app.request('/v1/files/f_d/content', { headers: ACME });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('content-length')).toBe('3');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="my _photo_.jpg"; filename*=UTF-8''my%20%22photo%22.jpg`,
      );
      expect(await res.text()).toBe('abc');
    });

    it('HEAD answers the download headers without opening the object, so no S3 socket is left unread', async () => {
      seedFile(t, { id: 'f_h', filename: 'ré "sumé".jpg' });
      t.s3.objects.set('files/acme/f_h/original', Buffer.from('abc'));
      t.s3.objects.set('files/acme/f_h/renditions/thumb.webp', Buffer.from('webp'));
      const content = await t.app.request('/v1/files/f_h/content', { method: 'HEAD', headers: ACME });
      expect(content.status).toBe(200);
      expect(content.headers.get('content-type')).toBe('image/jpeg');
      expect(content.headers.get('content-length')).toBe('3');
      expect(content.headers.get('content-disposition')).toBe(contentDisposition('ré "sumé".jpg'));
      expect(await content.text()).toBe('');
      const thumb = await t.app.request('/v1/files/f_h/renditions/thumb', { method: 'HEAD', headers: ACME });
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-length')).toBe('4');
      expect(t.s3.sent).not.toContain('GetObjectCommand');
      t.s3.objects.clear();
      expect((await t.app.request('/v1/files/f_h/content', { method: 'HEAD', headers: ACME })).status).toBe(410);
    });

    it('serves an AVIF rendition from its .avif key, and an older rendition stored without a format as WebP', async () => {
      seedFile(t, {
        id: 'f_av',
        renditions: [
          // Written before renditions had formats and frames.
          { name: 'thumb', key: 'files/acme/f_av/renditions/thumb.webp', width: 5, height: 5, size: 4 },
          {
            name: 'large-avif',
            key: 'files/acme/f_av/renditions/large-avif.avif',
            format: 'avif',
            width: 5,
            height: 5,
            size: 4,
            frames: 1,
          },
        ],
      });
      t.s3.objects.set('files/acme/f_av/renditions/thumb.webp', Buffer.from('webp'));
      t.s3.objects.set('files/acme/f_av/renditions/large-avif.avif', Buffer.from('avif'));
      const view = (await (await t.app.request('/v1/files/f_av', { headers: ACME })).json()) as {
        renditions: { name: string; format: string; frames: number; firstFrameOnly: string | null }[];
      };
      expect(
        view.renditions.map(({ name, format, frames, firstFrameOnly }) => ({ name, format, frames, firstFrameOnly })),
      ).toEqual([
        { name: 'thumb', format: 'webp', frames: 1, firstFrameOnly: null },
        { name: 'large-avif', format: 'avif', frames: 1, firstFrameOnly: null },
      ]);
      const avif = await t.app.request('/v1/files/f_av/renditions/large-avif', { headers: ACME });
      expect(avif.status).toBe(200);
      expect(avif.headers.get('content-type')).toBe('image/avif');
      expect(avif.headers.get('content-disposition')).toContain('photo-large-avif.avif');
      expect(await avif.text()).toBe('avif');
      const old = await t.app.request('/v1/files/f_av/renditions/thumb', { headers: ACME });
      expect(old.headers.get('content-type')).toBe('image/webp');
      expect(await old.text()).toBe('webp');
    });

    it('streams a rendition, and 404s an unknown rendition', async () => {
      seedFile(t, { id: 'f_t' });
      t.s3.objects.set('files/acme/f_t/renditions/thumb.webp', Buffer.from('webp'));
      const res = await t.app.request('/v1/files/f_t/renditions/thumb', { headers: ACME });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      expect(await res.text()).toBe('webp');
      await expectError(
        await t.app.request('/v1/files/f_t/renditions/huge', { headers: ACME }),
        404,
        'rendition_not_found',
      );
    });

    it('redirects to a short-lived presigned URL with ?redirect=1', async () => {
      seedFile(t, { id: 'f_s' });
      const res = await t.app.request('/v1/files/f_s/content?redirect=1', { headers: ACME });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location')!);
      expect(location.pathname).toBe('/intake/files/acme/f_s/original');
      expect(location.searchParams.get('X-Amz-Expires')).toBe('300');
    });

    it('409 while processing, 410 for quarantined, rejected and deleted files', async () => {
      seedFile(t, { id: 'f_p', status: 'PROCESSING' });
      seedFile(t, { id: 'f_i', status: 'INFECTED', reason: 'Eicar-Test-Signature' });
      seedFile(t, { id: 'f_x', status: 'REJECTED', reason: 'not an image' });
      seedFile(t, { id: 'f_del', status: 'DELETED', deletionReason: 'expired' });
      await expectError(await t.app.request('/v1/files/f_p/content', { headers: ACME }), 409, 'file_processing');
      const infected = await expectError(
        await t.app.request('/v1/files/f_i/content', { headers: ACME }),
        410,
        'file_infected',
      );
      expect(infected.message).toContain('Eicar');
      await expectError(await t.app.request('/v1/files/f_x/renditions/thumb', { headers: ACME }), 410, 'file_rejected');
      await expectError(
        await t.app.request('/v1/files/f_del/content?redirect=1', { headers: ACME }),
        410,
        'file_deleted',
      );
    });
  });
});
