import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApi } from '../../api/server';
import { IntakeApiError, type IntakeClient } from '../../api/client';
import type { Db } from '../../prisma/db';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * End-to-end through real HTTP: the API (startApi, as `npm run api` runs it) and the workers against the
 * real stack from global-setup (Temporal dev server, MinIO, PostgreSQL, clamd). Nothing is faked.
 */

const ACME_KEY = 'acme-e2e-key-0001';
const GLOBEX_KEY = 'globex-e2e-key-0002';
const MAX_UPLOAD = 2 * 1024 * 1024;

let intake: RunningIntake<'acme' | 'globex'>;
let api: RunningApi;
let db: Db;
let acme: IntakeClient;
let globex: IntakeClient;
let jpeg: Buffer;

const objectsUnder = (prefix: string) => intake.objectsUnder(prefix);

beforeAll(async () => {
  intake = await startIntake({
    tenants: { acme: ACME_KEY, globex: GLOBEX_KEY },
    env: { INTAKE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) },
  });
  ({ api, db } = intake);
  ({ acme, globex } = intake.clients);
  jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#3366cc' } })
    .jpeg()
    .toBuffer();
}, 180_000);

afterAll(async () => {
  await intake?.stop();
});

describe('the HTTP API on the real stack', () => {
  let readyId: string;

  it('answers /healthz and /readyz with every dependency up', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${api.url}/readyz`);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.checks).toMatchObject({
      temporal: { ok: true },
      s3: { ok: true },
      postgres: { ok: true },
      clamd: { ok: true },
    });
    expect(ready.status).toBe(200);
  });

  it('a multipart upload of a clean JPEG becomes READY (long-polled) with renditions, and its bytes download', async () => {
    const accepted = await acme.uploadFile(jpeg, {
      filename: 'blue photo.jpg',
      contentType: 'image/jpeg',
      tags: ['e2e'],
    });
    expect(accepted.status).toBe('PROCESSING');
    const file = await acme.waitForFile(accepted.id, 90_000);
    expect(file.status).toBe('READY');
    expect(file).toMatchObject({
      filename: 'blue photo.jpg',
      contentType: 'image/jpeg',
      size: jpeg.length,
      tags: ['e2e'],
    });
    expect(file.renditions.map((r) => r.name).sort()).toEqual([
      'large',
      'large-avif',
      'medium',
      'medium-avif',
      'thumb',
    ]);
    expect(file.renditions.find((r) => r.name === 'thumb')).toMatchObject({ width: 256, height: 192 });
    readyId = file.id;

    const content = await acme.download(file.id);
    expect(content.headers.get('content-type')).toBe('image/jpeg');
    expect(content.headers.get('content-disposition')).toContain('filename="blue photo.jpg"');
    expect(Buffer.from(await content.arrayBuffer()).equals(jpeg)).toBe(true);

    const thumb = await acme.download(file.id, { rendition: 'thumb' });
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 256, height: 192 });

    const redirect = await acme.download(file.id, { redirect: true });
    expect(redirect.status).toBe(302);
    const presigned = await fetch(redirect.headers.get('location')!);
    expect(Buffer.from(await presigned.arrayBuffer()).equals(jpeg)).toBe(true);
  });

  it('a raw upload with ?filename= becomes READY', async () => {
    const accepted = await acme.uploadFile(Buffer.from('{"hello":"world"}'), {
      filename: 'doc.json',
      contentType: 'application/json',
      mode: 'raw',
    });
    const file = await acme.getFile(accepted.id, { wait: '60s' });
    expect(file.status).toBe('READY');
    expect(file.contentType).toBe('application/json');
  });

  it('the same Idempotency-Key returns the first upload and starts nothing new', async () => {
    const first = await acme.uploadFile(jpeg, { filename: 'a.jpg', idempotencyKey: 'e2e-idem-1' });
    const again = await acme.uploadFile(jpeg, { filename: 'a.jpg', idempotencyKey: 'e2e-idem-1' });
    expect(again.id).toBe(first.id);
    expect(again.replayed).toBe(true);
    // The same key with a different upload is a client bug, not a retry: 422, never the first file.
    const reused = (await acme
      .uploadFile(jpeg, { filename: 'b.jpg', idempotencyKey: 'e2e-idem-1' })
      .catch((e: unknown) => e)) as IntakeApiError;
    expect(reused).toBeInstanceOf(IntakeApiError);
    expect(reused.status).toBe(422);
    expect(reused.code).toBe('idempotency_key_reused');
    expect(await db.file.count({ where: { tenantId: 'acme', idempotencyKey: 'e2e-idem-1' } })).toBe(1);
  });

  it("another tenant gets 404 on the first tenant's file", async () => {
    const error = await globex.getFile(readyId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntakeApiError);
    expect((error as IntakeApiError).status).toBe(404);
    expect(((await globex.download(readyId).catch((e: unknown) => e)) as IntakeApiError).status).toBe(404);
  });

  it('an oversize upload answers 413 and leaves no object behind', async () => {
    const before = await objectsUnder('incoming/acme/');
    const big = new Uint8Array(MAX_UPLOAD + 1024 * 1024);
    // Streamed without Content-Length, so the limit is enforced while counting bytes.
    const stream = new Blob([big]).stream();
    const error = (await acme
      .uploadFile(stream, { filename: 'big.bin', mode: 'raw' })
      .catch((e: unknown) => e)) as IntakeApiError;
    expect(error.status).toBe(413);
    // Only new objects count: earlier uploads still processing move theirs out of incoming meanwhile.
    const added = async () => (await objectsUnder('incoming/acme/')).filter((key) => !before.includes(key));
    expect(await added()).toEqual([]);
    const multipart = (await acme.uploadFile(big, { filename: 'big.bin' }).catch((e: unknown) => e)) as IntakeApiError;
    expect(multipart.status).toBe(413);
    expect(await added()).toEqual([]);
  });

  it('a retention update changes the expiry and the hold', async () => {
    const before = await acme.getFile(readyId);
    const extended = await acme.updateRetention(readyId, { extendBy: '1d' });
    expect(Date.parse(extended.expiresAt!) - Date.parse(before.expiresAt!)).toBe(86_400_000);
    expect(await acme.updateRetention(readyId, { hold: true })).toMatchObject({ hold: true });
    const past = (await acme
      .updateRetention(readyId, { expiresAt: '2001-01-01T00:00:00Z' })
      .catch((e: unknown) => e)) as IntakeApiError;
    expect(past.status).toBe(400);
    // Straight after the update, before its Postgres row catches up: the hold still blocks deletion.
    const held = (await acme.deleteFile(readyId).catch((e: unknown) => e)) as IntakeApiError;
    expect(held).toMatchObject({ status: 409, code: 'file_on_hold' });
    await acme.updateRetention(readyId, { hold: false });
  });

  it('a registered webhook receives a verifiable Standard Webhooks delivery', async () => {
    const hook = await acme.createWebhook({ url: intake.receiver.url('/hook'), events: ['file.ready'] });
    const { secret } = await acme.getWebhookSecret();
    const accepted = await acme.uploadFile(jpeg, { filename: 'hooked.jpg' });
    const delivery = await intake.receiver.waitFor(
      'file.ready',
      (r) => r.body.includes(accepted.id) && r.body.includes('file.ready'),
    );
    const payload = new Webhook(secret).verify(delivery.body, delivery.headers) as {
      type: string;
      data: { id: string };
    };
    expect(payload.type).toBe('file.ready');
    const deliveries = await waitUntil('the delivery to be listed as delivered', async () => {
      const { items } = await acme.listDeliveries(hook.id);
      return items.find((d) => d.fileId === accepted.id && d.status === 'delivered');
    });
    expect(deliveries.attemptLog.at(-1)?.statusCode).toBe(204);
  });

  it('DELETE removes the file: it ends DELETED and its bytes are gone', async () => {
    const accepted = await acme.uploadFile(jpeg, { filename: 'doomed.jpg' });
    expect((await acme.waitForFile(accepted.id, 90_000)).status).toBe('READY');
    await acme.deleteFile(accepted.id);
    const deleted = await waitUntil('the file to become DELETED', async () => {
      const file = await acme.getFile(accepted.id);
      return file.status === 'DELETED' ? file : undefined;
    });
    expect(deleted.status).toBe('DELETED');
    expect(((await acme.download(accepted.id).catch((e: unknown) => e)) as IntakeApiError).status).toBe(410);
    expect(((await acme.deleteFile(accepted.id).catch((e: unknown) => e)) as IntakeApiError).status).toBe(410);
    expect(await objectsUnder(`files/acme/${accepted.id}/`)).toEqual([]);
  });

  it('lists and searches the tenant files', async () => {
    const page = await acme.listFiles({ limit: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).toBeTruthy();
    const next = await acme.listFiles({ limit: 2, cursor: page.nextCursor! });
    expect(next.items.map((f) => f.id)).not.toContain(page.items[0]!.id);
    const found = await acme.listFiles({ q: 'blue' });
    expect(found.items.map((f) => f.id)).toContain(readyId);
    expect((await globex.listFiles()).items).toEqual([]);
  });
});
