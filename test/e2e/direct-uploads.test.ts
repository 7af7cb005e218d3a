import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeClient } from '../../api/client';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { DEFAULT_CORS_ORIGINS } from '../../infra/minio-server';
import { newId } from '../../lib/ids';
import { storageKeys } from '../../lib/storage-keys';
import { sweepOrphansWorkflow } from '../../workflows/index';
import { startIntake, type RunningIntake } from '../support/running-intake';

/*
 * Direct-to-S3 uploads on the real stack: presigned PUTs and multipart plans sent with a real HTTP client
 * straight to MinIO, completed through the API, processed by the real workflow, and abandoned uploads
 * removed by the real sweeper.
 */

const KEY = 'direct-e2e-key-0001';
const OTHER_KEY = 'direct-e2e-key-0002';
const MIB = 1024 * 1024;
const MAX_UPLOAD = 128 * MIB;

let intake: RunningIntake<'acme' | 'globex'>;
let acme: IntakeClient;

interface PutPlan {
  id: string;
  fileId: string;
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
  completeUrl: string;
  expiresAt: string;
}
interface MultipartPlan {
  id: string;
  fileId: string;
  method: 'MULTIPART';
  partSize: number;
  parts: { partNumber: number; size: number; url: string; headers: Record<string, string> }[];
  completeUrl: string;
  expiresAt: string;
}

const api = (path: string) => `${intake.api.url}${path}`;
const auth = (key = KEY) => ({ Authorization: `Bearer ${key}` });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function startUpload(body: Record<string, unknown>, key = KEY): Promise<Response> {
  return fetch(api('/v1/uploads'), {
    method: 'POST',
    headers: { ...auth(key), 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function plan<T extends PutPlan | MultipartPlan>(body: Record<string, unknown>): Promise<T> {
  const response = await startUpload(body);
  expect(response.status).toBe(201);
  return (await response.json()) as T;
}

/** Sends bytes as a browser or curl would: every signed header, Content-Length from the body itself. */
function put(url: string, headers: Record<string, string>, body: Buffer, extra: Record<string, string> = {}) {
  const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-length'));
  return fetch(url, { method: 'PUT', headers: { ...sent, ...extra }, body: new Uint8Array(body) });
}

async function complete(id: string, body?: unknown, key = KEY): Promise<Response> {
  return fetch(api(`/v1/uploads/${id}/complete`), {
    method: 'POST',
    headers: { ...auth(key), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function sendParts(multipart: MultipartPlan, bytes: Buffer, only?: number[]) {
  const sent: { partNumber: number; etag: string }[] = [];
  for (const part of multipart.parts) {
    if (only && !only.includes(part.partNumber)) continue;
    const offset = (part.partNumber - 1) * multipart.partSize;
    const response = await put(part.url, part.headers, bytes.subarray(offset, offset + part.size));
    expect(response.status).toBe(200);
    sent.push({ partNumber: part.partNumber, etag: response.headers.get('etag')! });
  }
  return sent;
}

/** Text the validate step accepts, big enough for a multipart plan. */
function textOf(size: number): Buffer {
  const line = Buffer.from(`${randomBytes(24).toString('hex')} direct upload line\n`);
  return Buffer.concat(Array.from({ length: Math.ceil(size / line.length) }, () => line)).subarray(0, size);
}

beforeAll(async () => {
  intake = await startIntake({
    tenants: { acme: KEY, globex: OTHER_KEY },
    env: {
      INTAKE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
      INTAKE_DIRECT_UPLOAD_THRESHOLD: String(5 * MIB),
      INTAKE_DIRECT_UPLOAD_PART_SIZE: String(5 * MIB),
    },
  });
  ({ acme } = intake.clients);
}, 180_000);

afterAll(async () => {
  await intake?.stop();
});

describe('direct uploads: a single presigned PUT', () => {
  it('a JPEG PUT straight to S3 and completed ends READY with the exact bytes, encrypted at rest', async () => {
    const jpeg = await sharp({ create: { width: 500, height: 400, channels: 3, background: '#22aa66' } })
      .jpeg()
      .toBuffer();
    const single = await plan<PutPlan>({
      filename: 'direct.jpg',
      size: jpeg.length,
      contentType: 'image/jpeg',
      sha256: sha256(jpeg),
      tags: ['direct'],
    });
    expect(single).toMatchObject({
      method: 'PUT',
      completeUrl: `${intake.config.publicUrl}/v1/uploads/${single.id}/complete`,
    });
    expect(single.id).toMatch(/^u_[a-z2-7]{24}$/);
    expect(single.headers).toMatchObject({
      'Content-Length': String(jpeg.length),
      'If-None-Match': '*',
      'x-amz-server-side-encryption': 'AES256',
    });
    const signed = new URL(single.url).searchParams.get('X-Amz-SignedHeaders')!.split(';');
    expect(signed).toEqual(expect.arrayContaining(['content-length', 'if-none-match', 'x-amz-server-side-encryption']));

    // A body of another length, or without the signed SSE header, is refused by S3 itself.
    expect((await put(single.url, single.headers, Buffer.concat([jpeg, Buffer.from('x')]))).status).toBe(403);
    const { ['x-amz-server-side-encryption']: _sse, ...withoutSse } = single.headers;
    // (MinIO answers 400 for a signed header that is missing, AWS 403: refused either way.)
    expect([400, 403]).toContain((await put(single.url, withoutSse, jpeg)).status);

    expect((await put(single.url, single.headers, jpeg)).status).toBe(200);
    // Replaying the URL cannot swap the bytes once they are there.
    expect((await put(single.url, single.headers, jpeg)).status).toBe(412);

    const accepted = await complete(single.id);
    expect(accepted.status).toBe(202);
    const body = (await accepted.json()) as { id: string; status: string; workflowId: string };
    expect(body).toMatchObject({ id: single.fileId, status: 'PROCESSING', workflowId: `upload-${single.fileId}` });
    expect(accepted.headers.get('location')).toBe(`/v1/files/${single.fileId}`);

    const file = await acme.waitForFile(body.id, 90_000);
    expect(file).toMatchObject({
      status: 'READY',
      filename: 'direct.jpg',
      size: jpeg.length,
      sha256: sha256(jpeg),
      tags: ['direct'],
    });
    expect(file.renditions.map((r) => r.name).sort()).toEqual([
      'large',
      'large-avif',
      'medium',
      'medium-avif',
      'thumb',
    ]);
    const content = await acme.download(file.id);
    expect(Buffer.from(await content.arrayBuffer())).toEqual(jpeg);
    const stored = await intake.s3.send(
      new HeadObjectCommand({ Bucket: intake.config.s3.bucket, Key: storageKeys.original('acme', file.id) }),
    );
    expect(stored.ServerSideEncryption).toBe('AES256');

    // A repeated complete answers with the same file, and starts nothing new.
    const again = await complete(single.id);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(file.id);
  });

  it('a sha256 that does not match the bytes ends REJECTED', async () => {
    const text = textOf(1000);
    const single = await plan<PutPlan>({
      filename: 'notes.txt',
      size: text.length,
      sha256: sha256(Buffer.from('other')),
    });
    expect((await put(single.url, single.headers, text)).status).toBe(200);
    expect((await complete(single.id)).status).toBe(202);
    const file = await acme.waitForFile(single.fileId, 90_000);
    expect(file.status).toBe('REJECTED');
    expect(file.reason).toMatch(/declared with sha256 [0-9a-f]{64}, but the bytes that arrived hash to/);
  });

  it('a complete for bytes that never arrived answers 409; an unknown or foreign upload 404', async () => {
    const single = await plan<PutPlan>({ filename: 'never.txt', size: 10 });
    const refused = await complete(single.id);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('upload_incomplete');
    expect((await complete(single.id, undefined, OTHER_KEY)).status).toBe(404);
    expect((await complete(newId('u'))).status).toBe(404);
    expect(await intake.db.file.findUnique({ where: { id: single.fileId } })).toBeNull();
  });

  it('refuses a declaration it can already tell is wrong: too large 413, bad sha256 or size 400', async () => {
    expect((await startUpload({ filename: 'huge.bin', size: MAX_UPLOAD + 1 })).status).toBe(413);
    expect((await startUpload({ filename: 'x.txt', size: 10, sha256: 'abc' })).status).toBe(400);
    expect((await startUpload({ filename: 'x.txt', size: 0 })).status).toBe(400);
    expect((await startUpload({ filename: 'x.txt', size: 10, retention: 'forever' })).status).toBe(400);
    expect((await startUpload({ filename: 'x.txt', size: 10, callbackUrl: 'ftp://example.com' })).status).toBe(400);
  });
});

describe('direct uploads: a multipart plan', () => {
  it('11 MiB in three presigned parts, completed with their ETags, ends READY with the exact bytes', async () => {
    const bytes = textOf(11 * MIB);
    const multipart = await plan<MultipartPlan>({ filename: 'big.txt', size: bytes.length, sha256: sha256(bytes) });
    expect(multipart.method).toBe('MULTIPART');
    expect(multipart.parts.map((part) => part.size)).toEqual([5 * MIB, 5 * MIB, MIB]);

    // Without the part ETags nothing can be assembled.
    expect((await complete(multipart.id)).status).toBe(409);
    const parts = await sendParts(multipart, bytes);
    const accepted = await complete(multipart.id, { parts });
    expect(accepted.status).toBe(202);
    const file = await acme.waitForFile(multipart.fileId, 120_000);
    expect(file).toMatchObject({
      status: 'READY',
      size: bytes.length,
      sha256: sha256(bytes),
      contentType: 'text/plain',
    });
    const content = await acme.download(file.id);
    expect(Buffer.from(await content.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('100 MiB in twenty presigned parts ends READY with the exact bytes', async () => {
    const bytes = textOf(100 * MIB);
    const digest = sha256(bytes);
    const multipart = await plan<MultipartPlan>({ filename: 'large.txt', size: bytes.length, sha256: digest });
    expect(multipart.method).toBe('MULTIPART');
    expect(multipart.parts).toHaveLength(20);
    const parts = await sendParts(multipart, bytes);
    expect((await complete(multipart.id, { parts })).status).toBe(202);
    const file = await acme.waitForFile(multipart.fileId, 300_000);
    expect(file).toMatchObject({ status: 'READY', size: bytes.length, sha256: digest });
    const content = await acme.download(file.id);
    expect(sha256(Buffer.from(await content.arrayBuffer()))).toBe(digest);
  }, 360_000);

  it('a size different from the declared one (a part left out) ends REJECTED', async () => {
    const bytes = textOf(11 * MIB);
    const multipart = await plan<MultipartPlan>({ filename: 'short.txt', size: bytes.length });
    const parts = await sendParts(multipart, bytes, [1, 2]);
    expect((await complete(multipart.id, { parts })).status).toBe(202);
    const file = await acme.waitForFile(multipart.fileId, 120_000);
    expect(file.status).toBe('REJECTED');
    expect(file.reason).toBe(`The upload was declared as ${bytes.length} bytes, but ${10 * MIB} bytes arrived.`);
  });

  it('a wrong part ETag answers 409', async () => {
    const bytes = textOf(6 * MIB);
    const multipart = await plan<MultipartPlan>({ filename: 'wrong.txt', size: bytes.length });
    const parts = await sendParts(multipart, bytes);
    const refused = await complete(multipart.id, { parts: parts.map((p) => ({ ...p, etag: '"0000"' })) });
    expect(refused.status).toBe(409);
  });
});

describe('abandoned direct uploads', () => {
  it('past expiresAt complete answers 410, and the sweeper removes the object and the multipart upload', async () => {
    const text = textOf(2000);
    const single = await plan<PutPlan>({ filename: 'late.txt', size: text.length });
    expect((await put(single.url, single.headers, text)).status).toBe(200);
    const bytes = textOf(6 * MIB);
    const multipart = await plan<MultipartPlan>({ filename: 'late-big.txt', size: bytes.length });
    await sendParts(multipart, bytes, [1]);
    // Time passes: both expire (the URLs are valid for INTAKE_DIRECT_UPLOAD_EXPIRY, an hour here).
    await intake.db.directUpload.updateMany({
      where: { id: { in: [single.id, multipart.id] } },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });

    const gone = await complete(single.id);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('upload_expired');
    const singleKey = storageKeys.incoming('acme', single.fileId);
    expect(await intake.objectsUnder(singleKey)).toEqual([singleKey]);

    const result = await intake.temporal.workflow.execute(sweepOrphansWorkflow, {
      taskQueue: GENERAL_TASK_QUEUE,
      workflowId: `sweep-direct-${single.id}`,
      args: [{ graceMs: 0 }],
    });
    expect(result.directUploadsExpired).toBeGreaterThanOrEqual(2);
    expect(await intake.objectsUnder(singleKey)).toEqual([]);
    const listing = intake.s3.send(
      new ListPartsCommand({
        Bucket: intake.config.s3.bucket,
        Key: storageKeys.incoming('acme', multipart.fileId),
        UploadId: (await intake.db.directUpload.findUniqueOrThrow({ where: { id: multipart.id } })).multipartUploadId!,
      }),
    );
    await expect(listing).rejects.toMatchObject({ name: 'NoSuchUpload' });
    const rows = await intake.db.directUpload.findMany({ where: { id: { in: [single.id, multipart.id] } } });
    expect(rows.map((row) => row.status)).toEqual(['expired', 'expired']);
    expect((await complete(single.id)).status).toBe(410);
    expect((await complete(multipart.id, { parts: [{ partNumber: 1, etag: '"x"' }] })).status).toBe(410);
  });

  it('a pending upload within its expiry is left alone by the sweeper, even with no File row', async () => {
    const text = textOf(500);
    const single = await plan<PutPlan>({ filename: 'pending.txt', size: text.length });
    expect((await put(single.url, single.headers, text)).status).toBe(200);
    await intake.temporal.workflow.execute(sweepOrphansWorkflow, {
      taskQueue: GENERAL_TASK_QUEUE,
      workflowId: `sweep-pending-${single.id}`,
      args: [{ graceMs: 0 }],
    });
    const key = storageKeys.incoming('acme', single.fileId);
    expect(await intake.objectsUnder(key)).toEqual([key]);
    expect((await complete(single.id)).status).toBe(202);
    expect((await acme.waitForFile(single.fileId, 90_000)).status).toBe('READY');
  });
});

describe('browsers', () => {
  it("MinIO's CORS lets the console's origin PUT with the signed headers and read the ETag; others not", async () => {
    const origin = DEFAULT_CORS_ORIGINS[0]!;
    const text = textOf(300);
    const single = await plan<PutPlan>({ filename: 'browser.txt', size: text.length });
    const preflight = await fetch(single.url, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'if-none-match,x-amz-server-side-encryption',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/PUT/);

    const sent = await put(single.url, single.headers, text, { Origin: origin });
    expect(sent.status).toBe(200);
    expect(sent.headers.get('access-control-allow-origin')).toBe(origin);
    expect(sent.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('etag');

    const foreign = await fetch(single.url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });
});
