import { CancelledFailure } from '@temporalio/common';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActivities } from '../../activities/create-activities';
import type { Rendition } from '../../common/domain';
import { storageKeys } from '../../lib/storage-keys';
import { activityDeps, activityEnvironment, FakeS3 } from '../support/fake-activity-deps';

const TENANT = 'acme';
const FILE_ID = 'f_resizeunit';
const INCOMING = storageKeys.incoming(TENANT, FILE_ID);
const input = { fileId: FILE_ID, tenantId: TENANT, key: INCOMING };
const rendition = (name: string) => storageKeys.rendition(TENANT, FILE_ID, name);

const image = () =>
  sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .png()
    .toBuffer();

/** A promise the test settles by hand, to hold an upload open while time passes. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

async function until(check: () => boolean): Promise<void> {
  // Real time (resizing runs on libuv threads); only setInterval is faked in these tests.
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('makeRenditions', () => {
  it('writes each configured rendition in its format, WebP and AVIF beside it, never larger than the original', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, await image());
    const { makeRenditions } = createActivities(activityDeps({ s3 }));

    const renditions = (await activityEnvironment().run(makeRenditions, input)) as Rendition[];

    expect(renditions.map((r) => [r.name, r.format, r.width, r.height, r.frames])).toEqual([
      ['thumb', 'webp', 256, 192, 1],
      ['medium', 'webp', 640, 480, 1],
      ['large', 'webp', 640, 480, 1],
      ['medium-avif', 'avif', 640, 480, 1],
      ['large-avif', 'avif', 640, 480, 1],
    ]);
    for (const r of renditions) {
      expect(r.key).toBe(`files/${TENANT}/${FILE_ID}/renditions/${r.name}.${r.format}`);
      const stored = s3.objects.get(r.key);
      expect(stored?.contentType).toBe(`image/${r.format}`);
      // libvips names AVIF by its container, HEIF.
      expect((await sharp(stored!.body).metadata()).format).toBe(r.format === 'avif' ? 'heif' : 'webp');
      expect(stored?.body.length).toBe(r.size);
    }
  });

  it('heartbeats while a slow rendition is still uploading', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const s3 = new FakeS3();
    s3.put(INCOMING, await image());
    const slow = gate();
    let holding = false;
    s3.beforePut = async (key) => {
      if (key !== rendition('large')) return;
      holding = true;
      await slow.opened;
    };
    const env = activityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const { makeRenditions } = createActivities(activityDeps({ s3 }));

    const done = env.run(makeRenditions, input);
    await until(() => holding);
    const before = beats.length;
    // Fake timers do not carry the activity's async context, so the interval runs inside it.
    await env.run(async () => vi.advanceTimersByTime(20_000));
    // The workflow's heartbeat timeout is 30 s: the activity must beat well within it while it waits.
    expect(beats.length - before).toBeGreaterThanOrEqual(4);
    slow.open();
    await done;
    expect(beats).toContainEqual({ rendition: 'large' });
  });

  it('removes the renditions it wrote when one of them fails, and reports that failure', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, await image());
    s3.failPut = (key) => (key === rendition('medium') ? new Error('S3 is unavailable') : null);
    const { makeRenditions } = createActivities(activityDeps({ s3 }));

    await expect(activityEnvironment().run(makeRenditions, input)).rejects.toThrow('S3 is unavailable');

    // Thumb and large were written before the attempt failed; neither may outlive it.
    expect(s3.keys()).toEqual([INCOMING]);
  });

  it('fails the attempt (for a retry) when S3 breaks off mid-read, without crashing the worker', async () => {
    const s3 = new FakeS3();
    const png = await image();
    const original = new PassThrough();
    original.write(png.subarray(0, 1024));
    s3.bodyOf = (key) => (key === INCOMING ? original : undefined);
    const { makeRenditions } = createActivities(activityDeps({ s3 }));

    const done = activityEnvironment().run(makeRenditions, input);
    await new Promise((resolve) => setTimeout(resolve, 50));
    original.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));

    await expect(done).rejects.toThrow(/ECONNRESET|Input buffer|unsupported image format/);
    expect(s3.keys()).toEqual([]);
  });

  it('stops reading the original when cancelled mid-read and fails the attempt as cancelled', async () => {
    const s3 = new FakeS3();
    const png = await image();
    const original = new PassThrough();
    original.write(png.subarray(0, 1024));
    s3.bodyOf = (key) => (key === INCOMING ? original : undefined);
    const env = activityEnvironment();
    const { makeRenditions } = createActivities(activityDeps({ s3 }));

    const done = env.run(makeRenditions, input);
    await new Promise((resolve) => setTimeout(resolve, 50));
    env.cancel();

    await expect(done).rejects.toBeInstanceOf(CancelledFailure);
    expect(original.destroyed).toBe(true);
    expect(s3.keys()).toEqual([]);
  });

  it('when cancelled during an upload, waits for it and leaves no renditions behind', async () => {
    const s3 = new FakeS3();
    s3.put(INCOMING, await image());
    const slow = gate();
    let holding = false;
    s3.beforePut = async (key) => {
      if (key !== rendition('large')) return;
      holding = true;
      await slow.opened;
    };
    const env = activityEnvironment();
    const { makeRenditions } = createActivities(activityDeps({ s3 }));

    const done = env.run(makeRenditions, input);
    await until(() => holding);
    env.cancel();
    // The upload under way completes after the cancellation; the attempt must still remove it.
    slow.open();

    await expect(done).rejects.toBeInstanceOf(CancelledFailure);
    expect(s3.keys()).toEqual([INCOMING]);
  });
});
