import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import pino from 'pino';
import { Upload } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiProcess, type ApiProcess } from '../../bench/processes';
import { freePort } from '../../infra/free-port';
import { storageKeys } from '../../lib/storage-keys';
import { sweepExpiredTusUploads } from '../../services/tus-upload';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * Resumable uploads over tus 1.0 on the real stack: the API runs as its own process (so it can be
 * killed mid-upload and started again), with the workers, MinIO, Postgres and Temporal real.
 */

const KEY = 'tus-e2e-key-0001';
const OTHER_KEY = 'tus-e2e-key-0002';
const MIB = 1024 * 1024;
const MAX_UPLOAD = 40 * MIB;
const PART = 5 * MIB;

let intake: RunningIntake<'acme' | 'globex'>;
let api: ApiProcess | undefined;
let port: number;
let logDir: string;
let env: NodeJS.ProcessEnv;

const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const b64 = (value: string) => Buffer.from(value).toString('base64');
const tusHeaders = (key = KEY) => ({ Authorization: `Bearer ${key}`, 'Tus-Resumable': '1.0.0' });

/** Text the validate step accepts. */
function textOf(size: number): Buffer {
  const line = Buffer.from(`${randomBytes(24).toString('hex')} tus upload line\n`);
  return Buffer.concat(Array.from({ length: Math.ceil(size / line.length) }, () => line)).subarray(0, size);
}

async function create(length: number, metadata: Record<string, string>, key = KEY): Promise<Response> {
  return fetch(url('/v1/tus/'), {
    method: 'POST',
    headers: {
      ...tusHeaders(key),
      'Upload-Length': String(length),
      'Upload-Metadata': Object.entries(metadata)
        .map(([name, value]) => `${name} ${b64(value)}`)
        .join(','),
    },
  });
}

async function created(length: number, metadata: Record<string, string>): Promise<string> {
  const response = await create(length, metadata);
  expect(response.status).toBe(201);
  return response.headers.get('location')!;
}

function patch(location: string, offset: number, body: Buffer | ReadableStream<Uint8Array>): Promise<Response> {
  return fetch(location, {
    method: 'PATCH',
    headers: { ...tusHeaders(), 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
    body: body instanceof Buffer ? new Uint8Array(body) : body,
    duplex: 'half',
  } as RequestInit);
}

const head = (location: string, key = KEY) => fetch(location, { method: 'HEAD', headers: tusHeaders(key) });

const fileIdOf = (location: string) => new URL(location).pathname.split('/').pop()!;

async function startApi(): Promise<void> {
  api = await startApiProcess(env, port, join(logDir, 'api.log'));
}

beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'intake-tus-'));
  const settings = { INTAKE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD), INTAKE_TUS_PART_SIZE: String(PART) };
  // The workers (and the typed clients) run in this process; the API that speaks tus is a child.
  intake = await startIntake({ tenants: { acme: KEY, globex: OTHER_KEY }, env: settings });
  port = await freePort();
  env = {
    ...process.env,
    ...settings,
    INTAKE_API_KEYS: `acme=${KEY},globex=${OTHER_KEY}`,
    INTAKE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    INTAKE_CODEC_PORT: '0',
    INTAKE_LOG_LEVEL: 'warn',
  };
  await startApi();
}, 240_000);

afterAll(async () => {
  await api?.process.stop(5_000);
  await intake?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

describe('tus: resumable uploads', () => {
  it('an upload interrupted halfway by an API restart resumes from Upload-Offset and ends READY', async () => {
    const bytes = textOf(24 * MIB);
    const location = await created(bytes.length, { filename: 'resumed.txt', tags: 'tus,resumed', retention: '7d' });
    const fileId = fileIdOf(location);
    const tusKey = storageKeys.tus('acme', fileId);
    const { bucket } = intake.config.s3;

    // Half the bytes, then the connection stays open: the API dies with the PATCH in flight.
    const half = bytes.length / 2;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= half) return new Promise<void>(() => undefined);
        const chunk = bytes.subarray(sent, Math.min(sent + MIB, half));
        sent += chunk.length;
        controller.enqueue(new Uint8Array(chunk));
        return undefined;
      },
    });
    const inFlight = patch(location, 0, body).catch((error: unknown) => error);
    const uploadId = await waitUntil('a part to reach S3', async () => {
      const info = await intake.s3
        .send(new HeadObjectCommand({ Bucket: bucket, Key: `${tusKey}.info` }))
        .catch(() => undefined);
      const multipart = info?.Metadata?.['upload-id'];
      if (!multipart) return undefined;
      const parts = await intake.s3.send(new ListPartsCommand({ Bucket: bucket, Key: tusKey, UploadId: multipart }));
      return (parts.Parts?.length ?? 0) > 0 ? multipart : undefined;
    });
    expect(uploadId).toBeTruthy();
    // Every object tus writes is encrypted at rest, as configured.
    const info = await intake.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${tusKey}.info` }));
    expect(info.ServerSideEncryption).toBe('AES256');

    api!.process.signal('SIGKILL');
    await api!.process.exited;
    expect(await inFlight).toBeInstanceOf(Error);
    await startApi();

    const resumed = await head(location);
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('upload-length')).toBe(String(bytes.length));
    const offset = Number(resumed.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(half);
    expect(resumed.headers.get('intake-file-id')).toBeNull();

    const finished = await patch(location, offset, bytes.subarray(offset));
    expect(finished.status).toBe(204);
    expect(finished.headers.get('upload-offset')).toBe(String(bytes.length));
    expect(finished.headers.get('intake-file-id')).toBe(fileId);

    const file = await intake.clients.acme.waitForFile(fileId, 120_000);
    expect(file).toMatchObject({ status: 'READY', filename: 'resumed.txt', size: bytes.length, sha256: sha256(bytes) });
    expect(file.tags).toEqual(['tus', 'resumed']);
    const content = await intake.clients.acme.download(fileId);
    expect(sha256(Buffer.from(await content.arrayBuffer()))).toBe(sha256(bytes));
    const original = await intake.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: storageKeys.original('acme', fileId) }),
    );
    expect(original.ServerSideEncryption).toBe('AES256');
  });

  it('a retried final PATCH gives one file, named on the PATCH and on HEAD', async () => {
    const bytes = textOf(2 * MIB);
    const location = await created(bytes.length, { filename: 'once.txt' });
    const fileId = fileIdOf(location);
    expect((await patch(location, 0, bytes.subarray(0, MIB))).status).toBe(204);

    const first = await patch(location, MIB, bytes.subarray(MIB));
    expect(first.status).toBe(204);
    expect(first.headers.get('intake-file-id')).toBe(fileId);
    // The same PATCH again (its answer was lost): the offset moved on, so tus says 409.
    const again = await patch(location, MIB, bytes.subarray(MIB));
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'upload_offset_mismatch' } });
    // A client that asks first, or resends from the end, learns the same file.
    const asked = await head(location);
    expect(asked.headers.get('upload-offset')).toBe(String(bytes.length));
    expect(asked.headers.get('intake-file-id')).toBe(fileId);
    const atEnd = await patch(location, bytes.length, Buffer.alloc(0));
    expect(atEnd.status).toBe(204);
    expect(atEnd.headers.get('intake-file-id')).toBe(fileId);

    const file = await intake.clients.acme.waitForFile(fileId, 120_000);
    expect(file).toMatchObject({ status: 'READY', sha256: sha256(bytes) });
    expect(await intake.db.file.count({ where: { tenantId: 'acme', filename: 'once.txt' } })).toBe(1);
    expect((await intake.db.file.findUniqueOrThrow({ where: { id: fileId } })).ingestSource).toEqual({
      tus: { uploadId: storageKeys.tus('acme', fileId), length: bytes.length },
    });
  });

  it('creation-with-upload: one POST carrying every byte becomes the file at once', async () => {
    const bytes = textOf(64 * 1024);
    const response = await fetch(url('/v1/tus/'), {
      method: 'POST',
      headers: {
        ...tusHeaders(),
        'Upload-Length': String(bytes.length),
        'Upload-Metadata': `filename ${b64('oneshot.txt')}`,
        'Content-Type': 'application/offset+octet-stream',
      },
      body: new Uint8Array(bytes),
    });
    expect(response.status).toBe(201);
    const fileId = response.headers.get('intake-file-id');
    expect(fileId).toBe(fileIdOf(response.headers.get('location')!));
    expect((await intake.clients.acme.waitForFile(fileId!, 120_000)).status).toBe('READY');
  });

  it('tus-js-client uploads in chunks and learns the file id from the final PATCH', async () => {
    const bytes = textOf(11 * MIB);
    const fileIds: string[] = [];
    const location = await new Promise<string>((resolve, reject) => {
      const upload = new Upload(bytes, {
        endpoint: url('/v1/tus/'),
        headers: { Authorization: `Bearer ${KEY}` },
        metadata: { filename: 'client.txt', filetype: 'text/plain', tags: 'client' },
        chunkSize: 6 * MIB,
        retryDelays: [],
        onAfterResponse: (_req, res) => {
          const fileId = res.getHeader('Intake-File-Id');
          if (fileId) fileIds.push(fileId);
        },
        onError: reject,
        onSuccess: () => resolve(upload.url!),
      });
      upload.start();
    });
    expect(fileIds).toEqual([fileIdOf(location)]);
    const file = await intake.clients.acme.waitForFile(fileIds[0]!, 120_000);
    expect(file).toMatchObject({ status: 'READY', filename: 'client.txt', tags: ['client'], sha256: sha256(bytes) });
  });

  it('expiration: an unfinished upload older than INTAKE_TUS_EXPIRY is removed, its parts aborted', async () => {
    const bytes = textOf(6 * MIB);
    const location = await created(12 * MIB, { filename: 'abandoned.txt' });
    const expires = (await patch(location, 0, bytes)).headers.get('upload-expires');
    expect(Date.parse(expires!)).toBeGreaterThan(Date.now());
    const tusKey = storageKeys.tus('acme', fileIdOf(location));
    const { bucket } = intake.config.s3;
    const listed = async () =>
      ((await intake.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: tusKey }))).Contents ?? []).map(
        (object) => object.Key,
      );
    expect(await listed()).toContain(`${tusKey}.info`);
    const info = await intake.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${tusKey}.info` }));
    const multipartId = info.Metadata!['upload-id']!;

    const deps = { s3: intake.s3, bucket, expiryMs: intake.config.tus.expiryMs, log: pino({ level: 'silent' }) };
    // Not yet expired: nothing happens.
    await sweepExpiredTusUploads(deps);
    expect(await listed()).toContain(`${tusKey}.info`);
    // A day later (the default expiry), it is gone: objects, parts and all.
    expect(await sweepExpiredTusUploads(deps, Date.now() + intake.config.tus.expiryMs + 60_000)).toBeGreaterThan(0);
    expect(await listed()).toEqual([]);
    await expect(
      intake.s3.send(new ListPartsCommand({ Bucket: bucket, Key: tusKey, UploadId: multipartId })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect((await head(location)).status).toBe(404);
  });

  it('another tenant cannot see, resume or terminate an upload', async () => {
    const location = await created(MIB, { filename: 'mine.txt' });
    expect((await head(location, OTHER_KEY)).status).toBe(404);
    const terminated = await fetch(location, { method: 'DELETE', headers: tusHeaders(OTHER_KEY) });
    expect(terminated.status).toBe(404);
    expect((await head(location)).status).toBe(200);
  });

  it('termination removes an unfinished upload', async () => {
    const location = await created(MIB, { filename: 'gone.txt' });
    const terminated = await fetch(location, { method: 'DELETE', headers: tusHeaders() });
    expect(terminated.status).toBe(204);
    const after = await head(location);
    expect(after.status).toBe(404);
  });

  it('refuses what it must: no key 401, no filename 400, too large 413, bad metadata 400, JSON bodies', async () => {
    const unauthenticated = await fetch(url('/v1/tus/'), {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10', 'Upload-Metadata': `filename ${b64('a.txt')}` },
    });
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ error: { code: 'unauthorized' } });

    const nameless = await create(10, { tags: 'x' });
    expect(nameless.status).toBe(400);
    expect(await nameless.json()).toMatchObject({ error: { code: 'invalid_request', message: /filename/ } });

    const tooLarge = await create(MAX_UPLOAD + 1, { filename: 'big.txt' });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ error: { code: 'payload_too_large' } });

    const badRetention = await create(10, { filename: 'a.txt', retention: 'forever' });
    expect(badRetention.status).toBe(400);
    expect(await badRetention.json()).toMatchObject({ error: { code: 'invalid_request', message: /retention/ } });

    const badCallback = await create(10, { filename: 'a.txt', callbackUrl: 'ftp://example.com/x' });
    expect(badCallback.status).toBe(400);

    const empty = await create(0, { filename: 'empty.txt' });
    expect(empty.status).toBe(422);

    const noVersion = await fetch(url('/v1/tus/'), {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEY}`, 'Upload-Length': '10' },
    });
    expect(noVersion.status).toBe(412);
    expect(await noVersion.json()).toMatchObject({ error: { code: 'tus_resumable_required' } });
  });

  it('OPTIONS advertises tus 1.0 with creation, creation-with-upload, termination and expiration', async () => {
    const response = await fetch(url('/v1/tus/'), { method: 'OPTIONS', headers: { Authorization: `Bearer ${KEY}` } });
    expect(response.status).toBe(204);
    expect(response.headers.get('tus-version')).toBe('1.0.0');
    expect(response.headers.get('tus-extension')?.split(',').sort()).toEqual(
      ['creation', 'creation-with-upload', 'expiration', 'termination'].sort(),
    );
    expect(response.headers.get('tus-max-size')).toBe(String(MAX_UPLOAD));
  });
});
