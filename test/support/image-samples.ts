import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/**
 * The HEIC photo: 320 × 240, a gradient with a red 40 × 40 square at the top left, HEVC-coded. Made once
 * with pillow-heif (libheif 1.23 + x265), since nothing on npm encodes HEVC; see test/fixtures/images/README.md.
 */
export const heicPhoto = (): Buffer => readFileSync(join(import.meta.dirname, '../fixtures/images/photo.heic'));

export const HEIC_SQUARE_RGB = [230, 20, 20] as const;

/** sRGB colours that lie inside the CMYK (SWOP-like) gamut, so a faithful conversion returns close to them. */
export const QUADRANT_COLOURS = [
  [180, 60, 50],
  [60, 140, 80],
  [70, 90, 170],
  [220, 200, 60],
] as const;

/** Four solid quadrants of QUADRANT_COLOURS, as raw 8-bit RGB. */
function quadrants(width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = QUADRANT_COLOURS[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]!;
      pixels.set(colour, (y * width + x) * 3);
    }
  }
  return pixels;
}

/** A print-shop JPEG: CMYK pixels with a CMYK ICC profile embedded. */
export function cmykJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(quadrants(width, height), { raw: { width, height, channels: 3 } })
    .withIccProfile('cmyk')
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** A 16-bit-per-channel PNG of the same quadrants (each 8-bit value v stored as v × 257). */
export function sixteenBitPng(width: number, height: number): Promise<Buffer> {
  return sharp(quadrants(width, height), { raw: { width, height, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
}

/** An animated GIF of `frames` frames, each one solid colour of its own. */
export function animatedGif(width: number, height: number, frames: number): Promise<Buffer> {
  const strip = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f++) {
    const colour = [(f * 97) % 256, (f * 53 + 80) % 256, (f * 31 + 160) % 256];
    for (let p = 0; p < width * height; p++) strip.set(colour, (f * width * height + p) * 3);
  }
  return sharp(strip, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif({ delay: Array.from({ length: frames }, () => 100), loop: 0 })
    .toBuffer();
}

/** The 8-bit sRGB pixel at (x, y) of an encoded image, as sharp decodes it. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [...data.subarray(offset, offset + 3)];
}
