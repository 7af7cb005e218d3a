import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import type { InfectedDetails } from '../../common/failures';
import { createClamdScanner } from '../../lib/clamd-scanner';
import { storageKeys } from '../../lib/storage-keys';
import {
  EICAR,
  createTenant,
  exists,
  getObject,
  newFileId,
  openActivityStack,
  putObject,
  runActivity,
  type ActivityStack,
} from './activities-stack';
import { animatedPng } from '../support/sample-files';

const TENANT = 'acme-scan';
let stack: ActivityStack;

beforeAll(async () => {
  stack = await openActivityStack();
  await createTenant(stack.db, TENANT);
});
afterAll(async () => {
  await stack?.close();
});

async function upload(body: Buffer | string, contentType?: string) {
  const fileId = newFileId();
  const key = storageKeys.incoming(TENANT, fileId);
  await putObject(stack, key, body, contentType);
  return { fileId, key, size: Buffer.byteLength(body) };
}

/** Runs an activity expected to fail and returns its ApplicationFailure. */
async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

/** A photo-like JPEG with noise (so it has real entropy data), EXIF with a camera make, and orientation 6. */
async function exifJpeg(width: number, height: number): Promise<Buffer> {
  const noise = await sharp({
    create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .png()
    .toBuffer();
  return sharp(noise)
    .jpeg({ quality: 90 })
    .withIccProfile('p3')
    .withExif({ IFD0: { Make: 'IntakeTestCam', Model: 'Model X' } })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

describe('scanFile', () => {
  it('passes a clean file and returns its sha256 and size from the same read', async () => {
    const body = 'just some harmless text\n';
    const { fileId, key } = await upload(body);
    const result = await runActivity(stack.activities.scanFile, { fileId, tenantId: TENANT, key });
    expect(result).toEqual({ sha256: createHash('sha256').update(body).digest('hex'), size: Buffer.byteLength(body) });
    expect(await exists(stack, key)).toBe(true);
  });

  it('quarantines the EICAR test file, removes the upload and fails non-retryably as Infected', async () => {
    const { fileId, key } = await upload(EICAR);
    const error = await failure(runActivity(stack.activities.scanFile, { fileId, tenantId: TENANT, key }));
    const quarantineKey = storageKeys.quarantine(TENANT, fileId);
    expect(error.type).toBe('Infected');
    expect(error.nonRetryable).toBe(true);
    // clamd reports signatures from a local (test) database with an ".UNOFFICIAL" suffix.
    expect(error.message).toMatch(/^infected: Eicar-Test-Signature/);
    const details = error.details?.[0] as InfectedDetails;
    expect(details.signature).toMatch(/^Eicar-Test-Signature/);
    expect(details.quarantineKey).toBe(quarantineKey);
    expect(await exists(stack, key)).toBe(false);
    expect(await exists(stack, quarantineKey)).toBe(true);
    const row = await stack.db.file.findUniqueOrThrow({ where: { id: fileId } });
    expect(row.quarantineKey).toBe(quarantineKey);
    expect(row.sha256).toBe(createHash('sha256').update(EICAR).digest('hex'));

    // A retry (the worker died after quarantining) repeats the verdict instead of passing the file.
    const again = await failure(runActivity(stack.activities.scanFile, { fileId, tenantId: TENANT, key }));
    expect(again.type).toBe('Infected');
    expect(again.message).toBe(error.message);
  });

  it('scans an empty file as clean', async () => {
    const { fileId, key } = await upload('');
    expect(await runActivity(stack.activities.scanFile, { fileId, tenantId: TENANT, key })).toEqual({
      sha256: createHash('sha256').digest('hex'),
      size: 0,
    });
  });

  it('answers ping only when clamd is reachable', async () => {
    expect(await stack.scanner.ping()).toBe(true);
    expect(await createClamdScanner({ host: '127.0.0.1', port: 1, timeoutMs: 2_000 }).ping()).toBe(false);
  });

  it('fails closed with a retryable error when clamd is unreachable, leaving the upload in place', async () => {
    const { fileId, key } = await upload('scan me later');
    const unreachable = createActivities({
      ...stack,
      scanner: createClamdScanner({ host: '127.0.0.1', port: 1, timeoutMs: 2_000 }),
    });
    const error = await runActivity(unreachable.scanFile, { fileId, tenantId: TENANT, key }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect(await exists(stack, key)).toBe(true);
  });

  it('rejects at once, unscanned and unretried, a file longer than clamd accepts', async () => {
    const limited = createActivities({
      ...stack,
      config: { ...stack.config, clamd: { ...stack.config.clamd, maxStreamBytes: 1024 * 1024 } },
    });
    const { fileId, key } = await upload(Buffer.alloc(2 * 1024 * 1024, 0x61));
    const error = await failure(runActivity(limited.scanFile, { fileId, tenantId: TENANT, key }));
    expect(error).toMatchObject({ type: 'Rejected', nonRetryable: true });
    expect(error.message).toMatch(/larger than the virus scanner accepts/);
    // At the limit exactly, clamd still scans it.
    const atLimit = await upload(Buffer.alloc(1024 * 1024, 0x61));
    expect(await runActivity(limited.scanFile, { ...atLimit, tenantId: TENANT })).toMatchObject({ size: 1024 * 1024 });
  });
});

describe('validateFile', () => {
  const validate = (upload: { fileId: string; key: string; size: number }, declaredContentType: string | null) =>
    runActivity(stack.activities.validateFile, { ...upload, declaredContentType });

  it('accepts a JPEG and reports its displayed (EXIF-rotated) dimensions', async () => {
    const file = await upload(await exifJpeg(300, 200), 'image/jpeg');
    expect(await validate(file, 'image/jpg')).toEqual({
      contentType: 'image/jpeg',
      isImage: true,
      width: 200,
      height: 300,
    });
  });

  it('accepts an animated PNG as a PNG, declared or not', async () => {
    const file = await upload(await animatedPng(40, 30));
    const png = { contentType: 'image/png', isImage: true, width: 40, height: 30 };
    expect(await validate(file, 'image/png')).toEqual(png);
    expect(await validate(file, 'image/apng')).toEqual(png);
    expect(await validate(file, null)).toEqual(png);
  });

  it('rejects a PNG declared as image/jpeg, naming both types', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#09c' } })
      .png()
      .toBuffer();
    const error = await failure(validate(await upload(png), 'image/jpeg'));
    expect(error.type).toBe('Rejected');
    expect(error.nonRetryable).toBe(true);
    expect(error.message).toBe(
      'The file was uploaded as a JPEG image (image/jpeg), but its content is a PNG image (image/png).',
    );
  });

  it('rejects a truncated JPEG because it does not decode', async () => {
    const jpeg = await exifJpeg(400, 300);
    const error = await failure(validate(await upload(jpeg.subarray(0, Math.floor(jpeg.length * 0.6))), 'image/jpeg'));
    expect(error.type).toBe('Rejected');
    expect(error.message).toMatch(/^The file looks like a JPEG image \(image\/jpeg\) but it does not decode/);
  });

  it('rejects an image above the pixel limit from its header', async () => {
    const png = await sharp({ create: { width: 100, height: 60, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const small = createActivities({
      ...stack,
      config: { ...stack.config, limits: { ...stack.config.limits, maxPixels: 5_000 } },
    });
    const file = await upload(png);
    const error = await failure(runActivity(small.validateFile, { ...file, declaredContentType: null }));
    expect(error.message).toBe('The image is 100 × 60 pixels (6,000 pixels), more than the limit of 5,000 pixels.');
  });

  it('rejects invalid JSON declared as JSON with the parser’s complaint', async () => {
    const error = await failure(validate(await upload('{"name": "x",'), 'application/json'));
    expect(error.type).toBe('Rejected');
    expect(error.message).toMatch(/^The file is not valid JSON: /);
  });

  it('detects JSON and plain text from content, whatever the name', async () => {
    expect(await validate(await upload('{"ok": true}'), null)).toMatchObject({ contentType: 'application/json' });
    expect(await validate(await upload('dear diary'), 'text/markdown')).toMatchObject({ contentType: 'text/plain' });
  });

  it('rejects binary content that matches no allowed format', async () => {
    const error = await failure(validate(await upload(Buffer.from([0x00, 0x01, 0x02, 0x03, 0xff])), null));
    expect(error.message).toMatch(/^The file's content is not a recognised format/);
  });

  it('rejects text that is not UTF-8', async () => {
    const error = await failure(validate(await upload(Buffer.from([0x68, 0xe9, 0x6c, 0x6c, 0x6f])), 'text/plain'));
    expect(error.message).toBe('The file is declared as text but is not valid UTF-8 text.');
  });

  it('rejects a type outside the allowed list and a file above the size limit', async () => {
    const narrow = createActivities({
      ...stack,
      config: {
        ...stack.config,
        limits: { ...stack.config.limits, allowedTypes: ['image/png'], maxUploadBytes: 1024 },
      },
    });
    const text = await upload('plain words');
    const notAllowed = await failure(runActivity(narrow.validateFile, { ...text, declaredContentType: null }));
    expect(notAllowed.message).toBe(
      'Files of this type are not accepted: the content is plain text (text/plain); accepted types are image/png.',
    );
    const big = await upload(Buffer.alloc(2048, 0x61));
    const tooLarge = await failure(runActivity(narrow.validateFile, { ...big, declaredContentType: null }));
    expect(tooLarge.message).toBe('The file is 2 KB, which is more than the 1 KB upload limit.');
  });
});

describe('makeRenditions', () => {
  it('writes auto-oriented WebP and AVIF renditions without EXIF, keeping the colour profile and never upscaling', async () => {
    const { fileId, key } = await upload(await exifJpeg(600, 400));
    const renditions = await runActivity(stack.activities.makeRenditions, { fileId, tenantId: TENANT, key });
    // Orientation 6 turns the 600 × 400 landscape into a 400 × 600 portrait.
    expect(renditions.map(({ name, width, height }) => ({ name, width, height }))).toEqual([
      { name: 'thumb', width: 171, height: 256 },
      { name: 'medium', width: 400, height: 600 },
      { name: 'large', width: 400, height: 600 },
      { name: 'medium-avif', width: 400, height: 600 },
      { name: 'large-avif', width: 400, height: 600 },
    ]);
    for (const rendition of renditions) {
      expect(rendition.key).toBe(storageKeys.rendition(TENANT, fileId, rendition.name, rendition.format));

      const bytes = await getObject(stack, rendition.key);
      expect(bytes.length).toBe(rendition.size);
      const meta = await sharp(bytes).metadata();
      // libvips names AVIF by its container, HEIF.
      expect(meta.format).toBe(rendition.name.endsWith('-avif') ? 'heif' : 'webp');
      expect(rendition.format).toBe(rendition.name.endsWith('-avif') ? 'avif' : 'webp');
      expect({ width: meta.width, height: meta.height }).toEqual({ width: rendition.width, height: rendition.height });
      expect(meta.exif).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(meta.icc).toBeDefined();
    }

    // A retry overwrites the same keys instead of adding new ones.
    const again = await runActivity(stack.activities.makeRenditions, { fileId, tenantId: TENANT, key });
    expect(again.map((r) => r.key)).toEqual(renditions.map((r) => r.key));
  });

  it('an attempt that fails half-way removes the renditions it already wrote', async () => {
    const { fileId, key } = await upload(await exifJpeg(600, 400));
    // "broken" fails (a zero edge) while "thumb" is written: the failed attempt must leave neither.
    const renditions = [
      { name: 'thumb', maxEdge: 64, format: 'webp' as const },
      { name: 'broken', maxEdge: 0, format: 'webp' as const },
    ];
    const partial = createActivities({ ...stack, config: { ...stack.config, renditions } });
    const error = await runActivity(partial.makeRenditions, { fileId, tenantId: TENANT, key }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    for (const { name } of renditions) {
      expect(await exists(stack, storageKeys.rendition(TENANT, fileId, name))).toBe(false);
    }
  });
});
