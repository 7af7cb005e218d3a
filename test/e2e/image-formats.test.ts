import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileView, UploadOptions } from '../../api/client';
import { startIntake, type RunningIntake } from '../support/running-intake';
import {
  HEIC_SQUARE_RGB,
  QUADRANT_COLOURS,
  animatedGif,
  cmykJpeg,
  heicPhoto,
  pixelAt,
  sixteenBitPng,
} from '../support/image-samples';

/*
 * The image formats people upload beyond the web's own, end to end on the real stack: HEIC photos,
 * animated GIFs, CMYK JPEGs and 16-bit PNGs, each through validate and resize into the default WebP and
 * AVIF renditions, and each kind of bad one to a REJECTED reason. The animation budget is lowered to
 * 5 frames so a small GIF can pass it.
 */

const TENANT = 'formats-e2e';
const API_KEY = 'formats-e2e-key-0001';
const NAMES = ['thumb', 'medium', 'large', 'medium-avif', 'large-avif'];

let intake: RunningIntake<typeof TENANT>;

beforeAll(async () => {
  intake = await startIntake({ tenants: { [TENANT]: API_KEY }, env: { INTAKE_ANIMATION_MAX_FRAMES: '5' } });
});

afterAll(async () => {
  await intake?.stop();
});

async function uploadAndSettle(body: Buffer, upload: UploadOptions): Promise<FileView> {
  const client = intake.clients[TENANT];
  const accepted = await client.uploadFile(body, upload);
  const file = await client.waitForFile(accepted.id, 90_000);
  expect(file.status, `still processing: ${JSON.stringify(file.steps)}`).not.toBe('PROCESSING');
  return file;
}

async function renditionBytes(file: FileView, name: string): Promise<Buffer> {
  const response = await intake.clients[TENANT].download(file.id, { rendition: name });
  const format = file.renditions.find((r) => r.name === name)?.format;
  expect(response.headers.get('content-type')).toBe(`image/${format}`);
  return Buffer.from(await response.arrayBuffer());
}

const summary = (file: FileView) =>
  file.renditions.map(({ name, format, width, height, frames }) => ({ name, format, width, height, frames }));

/** Each channel within `tolerance` of the expected value. */
function expectClose(actual: number[], expected: readonly number[], tolerance: number, what: string) {
  for (let c = 0; c < 3; c++) {
    expect(
      Math.abs(actual[c]! - expected[c]!),
      `${what}: ${actual.join(',')} vs ${expected.join(',')}`,
    ).toBeLessThanOrEqual(tolerance);
  }
}

describe('image formats beyond the web formats', () => {
  it('a HEIC photo ends READY with upright WebP and AVIF renditions and its original byte-exact', async () => {
    const heic = heicPhoto();
    const file = await uploadAndSettle(heic, { filename: 'IMG_0001.HEIC', contentType: 'image/heic' });

    expect(file).toMatchObject({ status: 'READY', reason: null, contentType: 'image/heic', width: 320, height: 240 });
    expect(summary(file)).toEqual([
      { name: 'thumb', format: 'webp', width: 256, height: 192, frames: 1 },
      { name: 'medium', format: 'webp', width: 320, height: 240, frames: 1 },
      { name: 'large', format: 'webp', width: 320, height: 240, frames: 1 },
      { name: 'medium-avif', format: 'avif', width: 320, height: 240, frames: 1 },
      { name: 'large-avif', format: 'avif', width: 320, height: 240, frames: 1 },
    ]);
    for (const name of ['thumb', 'large-avif']) {
      const bytes = await renditionBytes(file, name);
      const scale = file.renditions.find((r) => r.name === name)!.width / 320;
      // The red square at the top left, where the HEVC decode put it (HEVC at quality 60 moves colours a little).
      expectClose(await pixelAt(bytes, Math.round(20 * scale), Math.round(20 * scale)), HEIC_SQUARE_RGB, 24, name);
    }
    const original = await intake.clients[TENANT].download(file.id);
    expect(Buffer.from(await original.arrayBuffer()).equals(heic)).toBe(true);
  });

  it('an animated GIF within the budget keeps every frame in its WebP renditions; AVIF ones say they are frame one', async () => {
    const gif = await animatedGif(120, 90, 3);
    const file = await uploadAndSettle(gif, { filename: 'wave.gif', contentType: 'image/gif' });

    expect(file).toMatchObject({ status: 'READY', reason: null, contentType: 'image/gif', width: 120, height: 90 });
    expect(summary(file)).toEqual(
      NAMES.map((name) => ({
        name,
        format: name.endsWith('-avif') ? 'avif' : 'webp',
        width: 120,
        height: 90,
        frames: name.endsWith('-avif') ? 1 : 3,
      })),
    );
    for (const rendition of file.renditions) {
      expect(rendition.firstFrameOnly, rendition.name).toBe(
        rendition.format === 'avif' ? "AVIF renditions are still images; this is the animation's first frame." : null,
      );
    }
    const thumb = await sharp(await renditionBytes(file, 'thumb'), { animated: true }).metadata();
    expect({ format: thumb.format, pages: thumb.pages, pageHeight: thumb.pageHeight }).toEqual({
      format: 'webp',
      pages: 3,
      pageHeight: 90,
    });
  });

  it('an animated WebP keeps its frames in WebP renditions too', async () => {
    const webp = await sharp(await animatedGif(80, 60, 4), { animated: true })
      .webp({ lossless: true })
      .toBuffer();
    const file = await uploadAndSettle(webp, { filename: 'loop.webp', contentType: 'image/webp' });

    expect(file).toMatchObject({ status: 'READY', reason: null, contentType: 'image/webp', width: 80, height: 60 });
    expect(file.renditions.map((r) => [r.name, r.frames, r.width, r.height])).toEqual(
      NAMES.map((name) => [name, name.endsWith('-avif') ? 1 : 4, 80, 60]),
    );
    expect((await sharp(await renditionBytes(file, 'large'), { animated: true }).metadata()).pages).toBe(4);
  });

  it('an animated GIF past the frame budget is rendered from its first frame, and the file view says so', async () => {
    const gif = await animatedGif(60, 40, 8);
    const file = await uploadAndSettle(gif, { filename: 'long.gif', contentType: 'image/gif' });

    expect(file).toMatchObject({ status: 'READY', reason: null });
    expect(file.renditions.map((r) => [r.name, r.frames, r.width, r.height])).toEqual(
      NAMES.map((name) => [name, 1, 60, 40]),
    );
    for (const rendition of file.renditions) {
      expect(rendition.firstFrameOnly).toBe(
        'The animation has 8 frames, more than the 5 a rendition keeps; this is its first frame.',
      );
    }
    const medium = await sharp(await renditionBytes(file, 'medium'), { animated: true }).metadata();
    // libvips reports no page count for a one-frame image.
    expect(medium.pages ?? 1).toBe(1);
  });

  it('a CMYK JPEG renders to sRGB with the colours its profile gives, not CMYK numbers read as RGB', async () => {
    const jpeg = await cmykJpeg(200, 150);
    expect((await sharp(jpeg).metadata()).space).toBe('cmyk');
    const file = await uploadAndSettle(jpeg, { filename: 'print.jpg', contentType: 'image/jpeg' });

    expect(file).toMatchObject({ status: 'READY', reason: null, contentType: 'image/jpeg', width: 200, height: 150 });
    expect(summary(file).map((r) => [r.name, r.format, r.width, r.height])).toEqual(
      NAMES.map((name) => [name, name.endsWith('-avif') ? 'avif' : 'webp', 200, 150]),
    );
    // The original decoded through its own CMYK profile is what the renditions must look like.
    const points = [
      [50, 37],
      [150, 37],
      [50, 112],
      [150, 112],
    ] as const;
    const reference = await Promise.all(points.map(([x, y]) => pixelAt(jpeg, x, y)));
    for (const name of ['medium', 'large-avif']) {
      const bytes = await renditionBytes(file, name);
      const meta = await sharp(bytes).metadata();
      expect(meta.space, name).toBe('srgb');
      expect(meta.icc?.subarray(16, 20).toString('latin1'), `${name}'s embedded profile is an RGB one`).toBe('RGB ');
      for (const [i, [x, y]] of points.entries()) {
        const pixel = await pixelAt(bytes, x, y);
        expectClose(pixel, reference[i]!, 6, `${name} at ${x},${y} against the profile's colour`);
        // And close to the sRGB colour the CMYK file was made from (the CMYK gamut moves it some).
        expectClose(pixel, QUADRANT_COLOURS[i]!, 32, `${name} at ${x},${y} against the source colour`);
      }
    }
  });

  it('a 16-bit PNG renders to 8-bit sRGB with the same colours', async () => {
    const png = await sixteenBitPng(200, 150);
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const file = await uploadAndSettle(png, { filename: 'scan.png', contentType: 'image/png' });

    expect(file).toMatchObject({ status: 'READY', reason: null, contentType: 'image/png', width: 200, height: 150 });
    for (const name of ['thumb', 'large', 'large-avif']) {
      const bytes = await renditionBytes(file, name);
      const meta = await sharp(bytes).metadata();
      expect({ space: meta.space, depth: meta.depth }, name).toEqual({ space: 'srgb', depth: 'uchar' });
      const scale = meta.width! / 200;
      for (const [i, [x, y]] of (
        [
          [50, 37],
          [150, 37],
          [50, 112],
          [150, 112],
        ] as const
      ).entries()) {
        expectClose(await pixelAt(bytes, Math.round(x * scale), Math.round(y * scale)), QUADRANT_COLOURS[i]!, 4, name);
      }
    }
  });

  it.each([
    {
      kind: 'a truncated HEIC photo',
      filename: 'cut.heic',
      contentType: 'image/heic',
      body: () => Promise.resolve(heicPhoto().subarray(0, 1200)),
      reason: /^The file looks like a HEIC image \(image\/heic\) but /,
    },
    {
      // Cut inside its first frame: a GIF cut after whole frames plays those frames, as browsers do.
      kind: 'an animated GIF cut short in its first frame',
      filename: 'cut.gif',
      contentType: 'image/gif',
      body: async () => (await animatedGif(120, 90, 3)).subarray(0, 150),
      reason: /^The file looks like a GIF image \(image\/gif\) but /,
    },
    {
      kind: 'a JPEG declared as HEIC',
      filename: 'fake.heic',
      contentType: 'image/heic',
      body: () => cmykJpeg(20, 20),
      reason:
        /^The file was uploaded as a HEIC image \(image\/heic\), but its content is a JPEG image \(image\/jpeg\)\.$/,
    },
  ])('$kind ends REJECTED with a reason that says why', async ({ filename, contentType, body, reason }) => {
    const file = await uploadAndSettle(await body(), { filename, contentType });
    expect(file.status).toBe('REJECTED');
    expect(file.reason).toMatch(reason);
    expect(file.renditions).toEqual([]);
  });
});
