import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import { storageKeys } from '../../lib/storage-keys';
import { heicPhoto } from '../support/image-samples';
import {
  createTenant,
  getObject,
  newFileId,
  openActivityStack,
  putObject,
  runActivity,
  type ActivityStack,
} from './activities-stack';

const TENANT = 'acme-heic';
let stack: ActivityStack;

beforeAll(async () => {
  stack = await openActivityStack();
  await createTenant(stack.db, TENANT);
});
afterAll(async () => {
  await stack?.close();
});

async function upload(body: Buffer) {
  const fileId = newFileId();
  const key = storageKeys.incoming(TENANT, fileId);
  await putObject(stack, key, body);
  return { fileId, key, size: body.length, declaredContentType: 'image/heic' };
}

describe('validateFile and makeRenditions with HEIC', () => {
  it('accepts a HEIC photo with its dimensions and leaves the original untouched', async () => {
    const heic = heicPhoto();
    const file = await upload(heic);
    const result = await runActivity(stack.activities.validateFile, file);
    expect(result).toEqual({ contentType: 'image/heic', isImage: true, width: 320, height: 240 });

    const renditions = await runActivity(stack.activities.makeRenditions, { ...file, tenantId: TENANT });
    expect(renditions.map((r) => [r.name, r.format, r.width, r.height])).toEqual([
      ['thumb', 'webp', 256, 192],
      ['medium', 'webp', 320, 240],
      ['large', 'webp', 320, 240],
      ['medium-avif', 'avif', 320, 240],
      ['large-avif', 'avif', 320, 240],
    ]);
    expect((await getObject(stack, file.key)).equals(heic)).toBe(true);
  });

  it('rejects a HEIC photo above the pixel limit from its header, naming the limit', async () => {
    const narrow = createActivities({
      ...stack,
      config: { ...stack.config, limits: { ...stack.config.limits, maxPixels: 50_000 } },
    });
    const error = await runActivity(narrow.validateFile, await upload(heicPhoto())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).message).toBe(
      'The image is 320 × 240 pixels (76,800 pixels), more than the limit of 50,000 pixels.',
    );
  });
});
