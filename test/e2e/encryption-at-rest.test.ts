import { createHash } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntakeApiError, type FileView } from '../../api/client';
import { READINESS_PROBE_KEY } from '../../api/health/health.handlers';
import { loadConfig } from '../../config/env';
import { EMBEDDED_KMS_KEY_NAME } from '../../infra/minio-server';
import { storageKeys } from '../../lib/storage-keys';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { eicarTestFile } from '../support/sample-files';

/*
 * Encryption at rest on the real stack: MinIO from global-setup with its KMS key, the real API and
 * workers. Each run uploads through HTTP, catches the incoming objects by holding the workers back,
 * lets the pipeline finish, then asks S3 (HeadObject) how every object Intake wrote for the tenant is
 * stored. The runs are one after another, never side by side: two Intakes' workers on one task queue
 * would take each other's uploads.
 */

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Over lib-storage's 5 MiB part size, so the API's upload is multipart (CreateMultipartUpload). */
const LARGE_TEXT = Buffer.from('encrypted at rest, part after part.\n'.repeat(200_000));

interface Stored {
  ServerSideEncryption?: string;
  SSEKMSKeyId?: string;
}

async function encryptionOf(intake: RunningIntake<string>, key: string): Promise<Stored> {
  const head = await intake.s3.send(new HeadObjectCommand({ Bucket: intake.config.s3.bucket, Key: key }));
  return { ServerSideEncryption: head.ServerSideEncryption, SSEKMSKeyId: head.SSEKMSKeyId };
}

/** Every object under the tenant's prefixes, with how S3 stores it. */
async function everyObjectOf(intake: RunningIntake<string>, tenant: string): Promise<Map<string, Stored>> {
  const keys = [
    ...(await intake.objectsUnder(`files/${tenant}/`)),
    ...(await intake.objectsUnder(`quarantine/${tenant}/`)),
    ...(await intake.objectsUnder(`incoming/${tenant}/`)),
  ];
  return new Map(await Promise.all(keys.map(async (key) => [key, await encryptionOf(intake, key)] as const)));
}

async function downloaded(response: Response): Promise<Buffer> {
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** One full run: a photo, a multipart-sized text file and an EICAR upload, every object checked. */
function encryptsEverything(tenant: string, env: Record<string, string>, expected: Stored) {
  const apiKey = `${tenant}-key-0001`;
  let intake: RunningIntake<string>;
  let photo: Buffer;
  const ids: Record<'photo' | 'text' | 'eicar', string> = { photo: '', text: '', eicar: '' };
  const incoming = new Map<string, Stored>();
  const files: Record<string, FileView> = {};

  beforeAll(async () => {
    intake = await startIntake({ tenants: { [tenant]: apiKey }, env });
    photo = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#336699' } })
      .jpeg()
      .toBuffer();
  }, 180_000);

  afterAll(async () => {
    await intake?.stop();
  });

  it('stores each upload in incoming/ encrypted, single-part and multipart alike', async () => {
    // Held back, the workers cannot move the bytes on: the API's own writes stay where S3 can be asked.
    await intake.stopWorkers();
    const client = intake.clients[tenant]!;
    ids.photo = (await client.uploadFile(photo, { filename: 'photo.jpg', contentType: 'image/jpeg' })).id;
    ids.text = (
      await client.uploadFile(LARGE_TEXT, { filename: 'notes.txt', contentType: 'text/plain', mode: 'raw' })
    ).id;
    ids.eicar = (await client.uploadFile(eicarTestFile(), { filename: 'eicar.txt', contentType: 'text/plain' })).id;
    for (const id of Object.values(ids)) {
      const key = storageKeys.incoming(tenant, id);
      incoming.set(key, await encryptionOf(intake, key));
    }
    await intake.startWorkers();
    expect([...incoming.values()]).toEqual([expected, expected, expected]);
  });

  it('stores the original, every rendition and the quarantined copy encrypted', async () => {
    const client = intake.clients[tenant]!;
    for (const [name, id] of Object.entries(ids)) files[name] = await client.waitForFile(id, 90_000);
    expect(files.photo?.status).toBe('READY');
    expect(files.text?.status).toBe('READY');
    expect(files.eicar?.status).toBe('INFECTED');

    const stored = await everyObjectOf(intake, tenant);
    const written = [
      storageKeys.original(tenant, ids.photo),
      ...intake.config.renditions.map(({ name, format }) => storageKeys.rendition(tenant, ids.photo, name, format)),
      storageKeys.original(tenant, ids.text),
      storageKeys.quarantine(tenant, ids.eicar),
    ];
    // Exactly what the pipeline writes, incoming/ emptied: nothing escapes the check below unnoticed.
    expect([...stored.keys()].sort()).toEqual(written.sort());
    for (const [key, encryption] of stored) expect(encryption, key).toEqual(expected);
  });

  it('serves the same bytes back, streamed and through a presigned URL', async () => {
    const client = intake.clients[tenant]!;
    expect(sha256(await downloaded(await client.download(ids.photo)))).toBe(sha256(photo));
    expect(sha256(await downloaded(await client.download(ids.text)))).toBe(sha256(LARGE_TEXT));
    const redirect = await client.download(ids.photo, { redirect: true });
    expect(redirect.status).toBe(302);
    expect(sha256(await downloaded(await fetch(redirect.headers.get('location')!)))).toBe(sha256(photo));
    const thumb = await sharp(await downloaded(await client.download(ids.photo, { rendition: 'thumb' }))).metadata();
    expect(thumb).toMatchObject({ format: 'webp', width: 256, height: 192 });
  });

  it('answers /readyz after writing its probe object encrypted', async () => {
    const ready = await fetch(`${intake.api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await encryptionOf(intake, READINESS_PROBE_KEY)).toEqual(expected);
  });
}

describe('encryption at rest with the default SSE-S3', () => {
  it('is asked for by Intake, not added by this MinIO: a plain client stores objects unencrypted', async () => {
    // Without this, the checks below could pass on a server that encrypts by itself.
    const config = loadConfig().s3;
    const plain = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: true,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    });
    try {
      const key = 'encryption-at-rest/plain';
      await plain.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: 'plain' }));
      const head = await plain.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key }));
      expect(head.ServerSideEncryption).toBeUndefined();
      await plain.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key }));
    } finally {
      plain.destroy();
    }
  });

  encryptsEverything('sse-s3-e2e', {}, { ServerSideEncryption: 'AES256', SSEKMSKeyId: undefined });
});

describe('encryption at rest with SSE-KMS and the embedded KMS key', () => {
  // The stack sets S3_SSE_KMS_KEY_ID to its MinIO's key: S3_SSE alone switches to SSE-KMS.
  encryptsEverything(
    'sse-kms-e2e',
    { S3_SSE: 'aws:kms' },
    // MinIO reports the key as an ARN of its name.
    { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: `arn:aws:kms:${EMBEDDED_KMS_KEY_NAME}` },
  );
});

describe('encryption at rest with a key the KMS does not have', () => {
  const tenant = 'sse-bad-key-e2e';
  let intake: RunningIntake<string>;

  beforeAll(async () => {
    intake = await startIntake({
      tenants: { [tenant]: `${tenant}-key-0001` },
      env: { S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'no-such-key' },
    });
  }, 180_000);

  afterAll(async () => {
    await intake?.stop();
  });

  it('refuses uploads with 503 and a JSON error, and /readyz names S3 encryption', async () => {
    const refused = await intake.clients[tenant]!.uploadFile(Buffer.from('hello'), {
      filename: 'hello.txt',
      contentType: 'text/plain',
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(IntakeApiError);
    expect(refused).toMatchObject({ status: 503, code: 'dependency_unavailable' });
    expect(await intake.objectsUnder(`incoming/${tenant}/`)).toEqual([]);

    const ready = await fetch(`${intake.api.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { failing: string[]; checks: { s3: { ok: boolean; error?: string } } };
    expect(body.failing).toEqual(['s3']);
    expect(body.checks.s3.error).toMatch(/S3 refuses server-side encryption aws:kms \(S3_SSE\)/);
  });
});
