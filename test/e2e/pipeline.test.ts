import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntakeApiError, type FileView, type UploadOptions } from '../../api/client';
import { storageKeys } from '../../lib/storage-keys';
import { workflowIdFor } from '../../common/task-queues';
import type { FileStatus, WebhookEvent } from '../../common/domain';
import { statusQuery } from '../../common/messages';
import { IntakeContentType, IntakeStatus, IntakeTenant } from '../../common/search-attributes';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { corruptJpeg, eicarTestFile, photoWithExif } from '../support/sample-files';
import { waitUntil } from '../support/wait-until';

/*
 * The upload pipeline end to end: real HTTP into the API, the real workers, Temporal dev server, MinIO,
 * PostgreSQL and clamd from global-setup, and a local webhook receiver. Each case checks the outcome
 * where every consumer sees it: the API, S3, Postgres, the signed webhooks and Temporal's search
 * attributes.
 */

const TENANT = 'pipeline-e2e';
const API_KEY = 'pipeline-e2e-key-0001';

let intake: RunningIntake<typeof TENANT>;
let secret: string;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  intake = await startIntake({ tenants: { [TENANT]: API_KEY } });
  const client = intake.clients[TENANT];
  // Every event to the tenant's endpoint; single uploads also name a callback URL.
  await client.createWebhook({ url: intake.receiver.url('/tenant') });
  secret = (await client.getWebhookSecret()).secret;
});

afterAll(async () => {
  await intake?.stop();
});

async function uploadAndSettle(body: Buffer, upload: UploadOptions): Promise<FileView> {
  const client = intake.clients[TENANT];
  const accepted = await client.uploadFile(body, upload);
  expect(accepted.status).toBe('PROCESSING');
  const file = await client.waitForFile(accepted.id, 90_000);
  expect(file.status, `still processing: ${JSON.stringify(file.steps)}`).not.toBe('PROCESSING');
  return file;
}

interface WebhookPayload {
  type: WebhookEvent;
  data: { id: string; status: FileStatus; reason: string | null; sha256: string | null };
}

/**
 * Waits until the workflow reports its notify step done (every delivery answered 2xx), then checks that
 * each endpoint got the event exactly once, with one webhook-id across endpoints and a signature that
 * verifies with the tenant's secret.
 */
async function expectSignedOnce(fileId: string, event: WebhookEvent, paths: string[]): Promise<WebhookPayload> {
  // The notify step's progress lives in the workflow (Postgres keeps the state at the outcome), so ask it.
  const workflow = intake.temporal.workflow.getHandle(workflowIdFor(fileId));
  await waitUntil(`the notify step of ${fileId}`, async () => {
    const state = await workflow.query(statusQuery);
    return state.steps.notify.state === 'done' ? state : undefined;
  });
  const payloads: WebhookPayload[] = [];
  const ids = new Set<string>();
  for (const path of paths) {
    const deliveries = intake.receiver.received.filter((r) => {
      if (r.path !== path) return false;
      const body = JSON.parse(r.body) as WebhookPayload;
      return body.type === event && body.data.id === fileId;
    });
    expect(deliveries, `${event} deliveries to ${path}`).toHaveLength(1);
    const delivery = deliveries[0]!;
    // Throws WebhookVerificationError on a bad or missing signature, id or timestamp.
    payloads.push(new Webhook(secret).verify(delivery.body, delivery.headers) as WebhookPayload);
    ids.add(delivery.headers['webhook-id'] ?? '');
  }
  expect(ids.size).toBe(1);
  expect(payloads[0]).toMatchObject({ type: event, data: { id: fileId } });
  return payloads[0]!;
}

async function describeWorkflow(workflowId: string) {
  return (await intake.temporal.workflow.getHandle(workflowId).describe()).typedSearchAttributes;
}

async function objectBytes(key: string): Promise<Buffer> {
  const object = await intake.s3.send(new GetObjectCommand({ Bucket: intake.config.s3.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function expectGone(fileId: string, status: number): Promise<void> {
  const client = intake.clients[TENANT];
  // One request at a time: a second promise made up front would reject unobserved while the first runs.
  for (const redirect of [false, true]) {
    const error = await client.download(fileId, { redirect }).then(
      (response) => new Error(`expected ${status}, the API answered ${response.status}`),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IntakeApiError);
    expect((error as IntakeApiError).status).toBe(status);
  }
}

describe('the upload pipeline on the real stack', () => {
  it('a clean JPEG with EXIF and an orientation tag ends READY with upright WebP and AVIF renditions, no EXIF and its colour profile', async () => {
    // Stored 600×400 with orientation 6 (rotate 90° clockwise): it displays as 400×600, portrait.
    const photo = await photoWithExif({ width: 600, height: 400, orientation: 6 });
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    const file = await uploadAndSettle(photo, {
      filename: 'holiday.jpg',
      contentType: 'image/jpeg',
      callbackUrl: intake.receiver.url('/callback'),
      tags: ['e2e', 'photo'],
    });

    expect(file).toMatchObject({
      status: 'READY',
      reason: null,
      contentType: 'image/jpeg',
      size: photo.length,
      sha256: sha256(photo),
      width: 400,
      height: 600,
    });
    expect(
      Object.fromEntries(Object.entries(file.steps ?? {}).map(([name, step]) => [name, step.state])),
    ).toMatchObject({
      scan: 'done',
      validate: 'done',
      resize: 'done',
      store: 'done',
      index: 'done',
    });

    // Longest edge at most the configured limit, never upscaled, rotated per the orientation tag.
    const limits = Object.fromEntries(intake.config.renditions.map((r) => [r.name, r.maxEdge]));
    const names = ['large', 'large-avif', 'medium', 'medium-avif', 'thumb'];
    expect(Object.keys(limits).sort()).toEqual(names);
    expect(file.renditions.map((r) => r.name).sort()).toEqual(names);
    for (const rendition of file.renditions) {
      const scale = Math.min(1, limits[rendition.name]! / 600);
      const expected = { width: Math.round(400 * scale), height: Math.round(600 * scale) };
      const format = rendition.name.endsWith('-avif') ? 'avif' : 'webp';
      expect(rendition, rendition.name).toMatchObject({ format, frames: 1, firstFrameOnly: null, ...expected });

      const response = await intake.clients[TENANT].download(file.id, { rendition: rendition.name });
      expect(response.headers.get('content-type')).toBe(`image/${format}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(bytes.length).toBe(rendition.size);
      const meta = await sharp(bytes).metadata();
      // libvips names AVIF by its container, HEIF.
      expect(meta, rendition.name).toMatchObject({ format: format === 'avif' ? 'heif' : 'webp', ...expected });
      expect(meta.exif, `${rendition.name} must not carry EXIF`).toBeUndefined();
      expect(meta.orientation, `${rendition.name} is upright, so it needs no orientation tag`).toBeUndefined();
      expect(meta.icc, `${rendition.name} keeps the colour profile`).toBeDefined();
    }
    expect(file.renditions.find((r) => r.name === 'thumb')).toMatchObject({ width: 171, height: 256 });

    const original = await intake.clients[TENANT].download(file.id);
    expect(Buffer.from(await original.arrayBuffer()).equals(photo)).toBe(true);

    expect((await intake.objectsUnder(storageKeys.filePrefix(TENANT, file.id))).sort()).toEqual([
      storageKeys.original(TENANT, file.id),
      storageKeys.rendition(TENANT, file.id, 'large-avif', 'avif'),
      storageKeys.rendition(TENANT, file.id, 'large'),
      storageKeys.rendition(TENANT, file.id, 'medium-avif', 'avif'),
      storageKeys.rendition(TENANT, file.id, 'medium'),
      storageKeys.rendition(TENANT, file.id, 'thumb'),
    ]);
    expect(await intake.objectsUnder(storageKeys.incoming(TENANT, file.id))).toEqual([]);

    const row = await intake.db.file.findUniqueOrThrow({ where: { id: file.id } });
    expect(row).toMatchObject({
      tenantId: TENANT,
      status: 'READY',
      sha256: sha256(photo),
      size: BigInt(photo.length),
      contentType: 'image/jpeg',
      storageKey: storageKeys.original(TENANT, file.id),
      quarantineKey: null,
    });

    const payload = await expectSignedOnce(file.id, 'file.ready', ['/tenant', '/callback']);
    expect(payload.data).toMatchObject({ status: 'READY', sha256: sha256(photo) });

    const attributes = await describeWorkflow(file.workflowId);
    expect(attributes.get(IntakeStatus)).toBe('READY');
    expect(attributes.get(IntakeTenant)).toBe(TENANT);
    expect(attributes.get(IntakeContentType)).toBe('image/jpeg');
  });

  it('the EICAR test file ends INFECTED with its signature, only a quarantined copy exists and its bytes are never served', async () => {
    const eicar = eicarTestFile();
    const file = await uploadAndSettle(eicar, { filename: 'invoice.txt', contentType: 'text/plain' });

    expect(file.status).toBe('INFECTED');
    // The shipped offline database names it Eicar-Test-Signature.UNOFFICIAL; a fresh freshclam one, Eicar-Signature.
    expect(file.reason).toMatch(/^malware detected: Eicar/);
    expect(file.renditions).toEqual([]);
    expect(file.steps?.scan?.state).toBe('failed');

    await expectGone(file.id, 410);
    expect(await intake.objectsUnder(storageKeys.filePrefix(TENANT, file.id))).toEqual([]);
    expect(await intake.objectsUnder(storageKeys.incoming(TENANT, file.id))).toEqual([]);
    const quarantineKey = storageKeys.quarantine(TENANT, file.id);
    expect(await intake.objectsUnder(quarantineKey)).toEqual([quarantineKey]);
    expect((await objectBytes(quarantineKey)).equals(eicar)).toBe(true);

    const row = await intake.db.file.findUniqueOrThrow({ where: { id: file.id } });
    expect(row).toMatchObject({
      status: 'INFECTED',
      sha256: sha256(eicar),
      size: BigInt(eicar.length),
      quarantineKey,
    });
    // Nothing in permanent storage, and the row names no key where bytes could be looked for.
    expect(row.storageKey).toBeNull();
    expect(row.reason).toMatch(/Eicar/);

    const payload = await expectSignedOnce(file.id, 'file.infected', ['/tenant']);
    expect(payload.data.status).toBe('INFECTED');
    expect(payload.data.reason).toMatch(/Eicar/);
    expect(payload.data.sha256).toBe(sha256(eicar));

    expect((await describeWorkflow(file.workflowId)).get(IntakeStatus)).toBe('INFECTED');
    // Visibility is eventually consistent: the list catches up shortly after the upsert.
    await waitUntil(
      'the infected upload to be listed by IntakeStatus',
      async () => {
        for await (const execution of intake.temporal.workflow.list({ query: 'IntakeStatus = "INFECTED"' })) {
          if (execution.workflowId === file.workflowId) return execution;
        }
        return undefined;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
  });

  it('a corrupt image ends REJECTED with a reason a person understands', async () => {
    const corrupt = corruptJpeg();
    const file = await uploadAndSettle(corrupt, { filename: 'broken.jpg', contentType: 'image/jpeg' });

    expect(file.status).toBe('REJECTED');
    expect(file.reason).toBeTruthy();
    expect(file.reason!.length).toBeLessThan(300);
    expect(file.reason).toMatch(/image|decode|corrupt|jpeg/i);
    expect(file.reason).not.toMatch(/\n\s+at /);
    expect(file.steps?.validate?.state).toBe('failed');
    expect(file.steps?.resize?.state).toBe('skipped');

    await expectGone(file.id, 410);
    expect(await intake.objectsUnder(storageKeys.filePrefix(TENANT, file.id))).toEqual([]);
    const row = await intake.db.file.findUniqueOrThrow({ where: { id: file.id } });
    expect(row).toMatchObject({ status: 'REJECTED', sha256: sha256(corrupt), size: BigInt(corrupt.length) });

    const payload = await expectSignedOnce(file.id, 'file.rejected', ['/tenant']);
    expect(payload.data).toMatchObject({ status: 'REJECTED', reason: file.reason });
    expect((await describeWorkflow(file.workflowId)).get(IntakeStatus)).toBe('REJECTED');
  });

  it.each([
    { kind: 'text', filename: 'notes.txt', contentType: 'text/plain', content: 'Meeting notes\nbudget: approved ✓\n' },
    {
      kind: 'JSON',
      filename: 'order.json',
      contentType: 'application/json',
      content: '{"order":42,"items":["a","b"]}',
    },
  ])('a $kind file ends READY without renditions (resize skipped)', async ({ filename, contentType, content }) => {
    const bytes = Buffer.from(content, 'utf8');
    const file = await uploadAndSettle(bytes, { filename, contentType });

    expect(file).toMatchObject({ status: 'READY', contentType, renditions: [], width: null, height: null });
    expect(file.steps?.resize?.state).toBe('skipped');
    expect(file.steps?.store?.state).toBe('done');

    const download = await intake.clients[TENANT].download(file.id);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    expect(await intake.objectsUnder(storageKeys.filePrefix(TENANT, file.id))).toEqual([
      storageKeys.original(TENANT, file.id),
    ]);
    const row = await intake.db.file.findUniqueOrThrow({ where: { id: file.id } });
    expect(row).toMatchObject({ status: 'READY', sha256: sha256(bytes), size: BigInt(bytes.length), contentType });

    await expectSignedOnce(file.id, 'file.ready', ['/tenant']);
    expect((await describeWorkflow(file.workflowId)).get(IntakeStatus)).toBe('READY');
  });
});
