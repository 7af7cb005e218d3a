import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeClient } from '../../api/client';
import { hashShareToken } from '../../lib/share-tokens';
import { pdfWithPages } from '../support/pdf-samples';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * Every download on the real stack: Range (206, 416), ETag and If-None-Match (304), Cache-Control and
 * ?disposition=inline; and share links from creation to 410, through real HTTP, MinIO and Postgres.
 */

const KEY = 'shares-e2e-key-0001';
const OTHER_KEY = 'shares-e2e-key-0002';

let intake: RunningIntake<'acme' | 'globex'>;
let acme: IntakeClient;
let jpeg: Buffer;
let pdf: Buffer;
let imageId: string;
let pdfId: string;

const auth = (key = KEY) => ({ Authorization: `Bearer ${key}` });
const url = (path: string) => `${intake.api.url}${path}`;

async function uploadReady(body: Buffer, filename: string, contentType: string): Promise<string> {
  const accepted = await acme.uploadFile(body, { filename, contentType });
  const file = await acme.waitForFile(accepted.id, 90_000);
  expect(file.status).toBe('READY');
  return file.id;
}

interface CreatedShare {
  id: string;
  url: string;
  expiresAt: string;
  status: string;
  downloads: number;
}

async function share(fileId: string, body: Record<string, unknown>, key = KEY): Promise<Response> {
  return fetch(url(`/v1/files/${fileId}/shares`), {
    method: 'POST',
    headers: { ...auth(key), 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function createShare(fileId: string, body: Record<string, unknown>): Promise<CreatedShare> {
  const response = await share(fileId, body);
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedShare;
}

beforeAll(async () => {
  intake = await startIntake({ tenants: { acme: KEY, globex: OTHER_KEY } });
  ({ acme } = intake.clients);
  jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#cc6633' } })
    .jpeg()
    .toBuffer();
  // A real PDF: the validate step parses it (a stand-in without an xref table would be REJECTED).
  pdf = await pdfWithPages(['a report']);
  [imageId, pdfId] = await Promise.all([
    uploadReady(jpeg, 'orange.jpg', 'image/jpeg'),
    uploadReady(pdf, 'report.pdf', 'application/pdf'),
  ]);
}, 180_000);

afterAll(async () => {
  await intake?.stop();
});

describe('downloads: Range, ETag and caching', () => {
  it('a valid Range answers 206 with Content-Range and exactly those bytes', async () => {
    const response = await fetch(url(`/v1/files/${imageId}/content`), {
      headers: { ...auth(), Range: 'bytes=10-109' },
    });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 10-109/${jpeg.length}`);
    expect(response.headers.get('content-length')).toBe('100');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(jpeg.subarray(10, 110));

    const suffix = await fetch(url(`/v1/files/${imageId}/content`), { headers: { ...auth(), Range: 'bytes=-5' } });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(jpeg.subarray(jpeg.length - 5));
  });

  it('a range past the end answers 416 with Content-Range: bytes */size and a JSON error', async () => {
    const response = await fetch(url(`/v1/files/${imageId}/content`), {
      headers: { ...auth(), Range: `bytes=${jpeg.length + 10}-` },
    });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe(`bytes */${jpeg.length}`);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('range_not_satisfiable');
  });

  it('several ranges or a malformed Range are ignored: the whole file, 200', async () => {
    for (const range of ['bytes=0-1,5-6', 'pages=1-2', 'bytes=9-3']) {
      const response = await fetch(url(`/v1/files/${imageId}/content`), { headers: { ...auth(), Range: range } });
      expect(response.status, range).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(jpeg);
    }
  });

  it('If-None-Match with the ETag answers 304 with no body; another ETag gets the bytes', async () => {
    const first = await fetch(url(`/v1/files/${imageId}/content`), { headers: auth() });
    const etag = first.headers.get('etag');
    await first.arrayBuffer();
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await fetch(url(`/v1/files/${imageId}/content`), { headers: { ...auth(), 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    const other = await fetch(url(`/v1/files/${imageId}/content`), {
      headers: { ...auth(), 'If-None-Match': '"not-this-one"' },
    });
    expect(other.status).toBe(200);
    expect(Buffer.from(await other.arrayBuffer())).toEqual(jpeg);
  });

  it('If-Range with a stale ETag sends the whole file; with the current one, the range', async () => {
    const head = await fetch(url(`/v1/files/${imageId}/content`), { method: 'HEAD', headers: auth() });
    const etag = head.headers.get('etag')!;
    const stale = await fetch(url(`/v1/files/${imageId}/content`), {
      headers: { ...auth(), Range: 'bytes=0-9', 'If-Range': '"stale"' },
    });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(jpeg.length);
    const current = await fetch(url(`/v1/files/${imageId}/content`), {
      headers: { ...auth(), Range: 'bytes=0-9', 'If-Range': etag },
    });
    expect(current.status).toBe(206);
    expect((await current.arrayBuffer()).byteLength).toBe(10);
  });

  it('renditions carry an immutable year-long Cache-Control, answer ranges and 304 too', async () => {
    const thumb = await fetch(url(`/v1/files/${imageId}/renditions/thumb`), { headers: auth() });
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const bytes = Buffer.from(await thumb.arrayBuffer());
    const ranged = await fetch(url(`/v1/files/${imageId}/renditions/thumb`), {
      headers: { ...auth(), Range: 'bytes=0-3' },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(bytes.subarray(0, 4));
    const cached = await fetch(url(`/v1/files/${imageId}/renditions/thumb`), {
      headers: { ...auth(), 'If-None-Match': thumb.headers.get('etag')! },
    });
    expect(cached.status).toBe(304);
    // The original is not immutable in that sense: it stays private and unstored.
    const original = await fetch(url(`/v1/files/${imageId}/content`), { method: 'HEAD', headers: auth() });
    expect(original.headers.get('cache-control')).toBe('private, no-store');
  });

  it('?disposition=inline serves images inline and leaves every other type an attachment', async () => {
    const image = await fetch(url(`/v1/files/${imageId}/content?disposition=inline`), {
      method: 'HEAD',
      headers: auth(),
    });
    expect(image.headers.get('content-disposition')).toMatch(/^inline; filename="orange.jpg"/);
    const thumb = await fetch(url(`/v1/files/${imageId}/renditions/thumb?disposition=inline`), {
      method: 'HEAD',
      headers: auth(),
    });
    expect(thumb.headers.get('content-disposition')).toMatch(/^inline;/);
    const document = await fetch(url(`/v1/files/${pdfId}/content?disposition=inline`), {
      method: 'HEAD',
      headers: auth(),
    });
    expect(document.headers.get('content-disposition')).toMatch(/^attachment; filename="report.pdf"/);
    expect(document.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('share links', () => {
  it('serves the file without an API key, as an attachment with nosniff, Range and 304', async () => {
    const link = await createShare(imageId, { expiresIn: '24h' });
    expect(link.id).toMatch(/^s_[a-z2-7]{24}$/);
    expect(link.url).toMatch(new RegExp(`^${intake.config.publicUrl}/s/[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(link.expiresAt) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    const path = new URL(link.url).pathname;

    const response = await fetch(url(path));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="orange.jpg"/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(jpeg);

    const ranged = await fetch(url(path), { headers: { Range: 'bytes=0-1' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(jpeg.subarray(0, 2));
    const unchanged = await fetch(url(path), { headers: { 'If-None-Match': response.headers.get('etag')! } });
    expect(unchanged.status).toBe(304);

    // Only the token's hash is stored.
    const token = path.split('/').pop()!;
    const row = await intake.db.shareLink.findUniqueOrThrow({ where: { id: link.id } });
    expect(row.tokenHash).toBe(hashShareToken(token));
    expect(JSON.stringify(row)).not.toContain(token);
    // Two downloads sent bytes; the 304 did not count.
    expect(row.downloads).toBe(2);
  });

  it('a rendition link serves the rendition', async () => {
    const link = await createShare(imageId, { expiresIn: '1h', rendition: 'thumb' });
    const response = await fetch(link.url.replace(intake.config.publicUrl, intake.api.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="orange-thumb.webp"/);
    const { width } = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect(width).toBe(256);
  });

  it('answers 410 once it expires', async () => {
    const link = await createShare(imageId, { expiresIn: '1s' });
    const path = new URL(link.url).pathname;
    await waitUntil('the link to expire', async () => ((await fetch(url(path))).status === 410 ? true : undefined), {
      timeoutMs: 10_000,
    });
    const gone = await fetch(url(path));
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('share_gone');
  });

  it('two concurrent downloads of a maxDownloads=1 link: exactly one gets the bytes, the other 410', async () => {
    for (let round = 0; round < 5; round++) {
      const link = await createShare(pdfId, { expiresIn: '1h', maxDownloads: 1 });
      const path = new URL(link.url).pathname;
      const answers = await Promise.all([fetch(url(path)), fetch(url(path)), fetch(url(path))]);
      const statuses = await Promise.all(
        answers.map(async (answer) => {
          await answer.arrayBuffer();
          return answer.status;
        }),
      );
      expect(statuses.sort()).toEqual([200, 410, 410]);
      const listed = (await (await fetch(url(`/v1/files/${pdfId}/shares`), { headers: auth() })).json()) as {
        items: CreatedShare[];
      };
      expect(listed.items.find((item) => item.id === link.id)).toMatchObject({ downloads: 1, status: 'used_up' });
    }
  });

  it('is revoked by DELETE …/shares/{shareId} and listed as revoked; another tenant sees none of it', async () => {
    const link = await createShare(pdfId, { expiresIn: '1h' });
    const path = new URL(link.url).pathname;
    expect(
      (await fetch(url(`/v1/files/${pdfId}/shares/${link.id}`), { method: 'DELETE', headers: auth(OTHER_KEY) })).status,
    ).toBe(404);
    expect((await fetch(url(`/v1/files/${pdfId}/shares`), { headers: auth(OTHER_KEY) })).status).toBe(404);
    expect((await share(pdfId, { expiresIn: '1h' }, OTHER_KEY)).status).toBe(404);

    const revoked = await fetch(url(`/v1/files/${pdfId}/shares/${link.id}`), { method: 'DELETE', headers: auth() });
    expect(revoked.status).toBe(204);
    expect((await fetch(url(path))).status).toBe(410);
    const listed = (await (await fetch(url(`/v1/files/${pdfId}/shares`), { headers: auth() })).json()) as {
      items: (CreatedShare & { revokedReason: string | null; url?: string })[];
    };
    const item = listed.items.find((candidate) => candidate.id === link.id);
    expect(item).toMatchObject({ status: 'revoked', revokedReason: 'requested' });
    expect(item?.url).toBeUndefined();
  });

  it('refuses what it must: an unknown token 404, bad expiresIn 400, an unknown rendition 404', async () => {
    expect((await fetch(url(`/s/${'A'.repeat(43)}`))).status).toBe(404);
    expect((await share(imageId, { expiresIn: '90d' })).status).toBe(400);
    expect((await share(imageId, { expiresIn: '24' })).status).toBe(400);
    expect((await share(imageId, { expiresIn: '1h', maxDownloads: 0 })).status).toBe(400);
    expect((await share(imageId, { expiresIn: '1h', rendition: 'giant' })).status).toBe(404);
  });

  it('only READY files can be shared: a rejected one answers 409', async () => {
    const accepted = await acme.uploadFile(Buffer.from('\u0000\u0001binary junk'), {
      filename: 'junk.bin',
      contentType: 'application/octet-stream',
    });
    const file = await acme.waitForFile(accepted.id, 90_000);
    expect(file.status).toBe('REJECTED');
    const refused = await share(file.id, { expiresIn: '1h' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('file_not_shareable');
  });

  it("deleting the file revokes every link in the tombstone's transaction; a deleted file never serves", async () => {
    const id = await uploadReady(pdf, 'doomed.pdf', 'application/pdf');
    const links = [
      await createShare(id, { expiresIn: '1h' }),
      await createShare(id, { expiresIn: '1h', maxDownloads: 3 }),
    ];
    expect((await fetch(url(new URL(links[0]!.url).pathname))).status).toBe(200);
    await acme.deleteFile(id);
    await waitUntil('the file to be DELETED', async () =>
      (await acme.getFile(id)).status === 'DELETED' ? true : undefined,
    );
    for (const link of links) {
      const response = await fetch(url(new URL(link.url).pathname));
      expect(response.status).toBe(410);
    }
    const rows = await intake.db.shareLink.findMany({ where: { fileId: id } });
    expect(rows.map((row) => row.revokedReason)).toEqual(['requested', 'requested']);
    expect(rows.every((row) => row.revokedAt !== null)).toBe(true);
    expect((await share(id, { expiresIn: '1h' })).status).toBe(409);
  });
});
