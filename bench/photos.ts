import sharp from 'sharp';
import { seededRandom } from './images';

/** A 12-megapixel phone photo's size: 4000 × 3000 (4:3). */
export const PHOTO_WIDTH = 4000;
export const PHOTO_HEIGHT = 3000;

/**
 * A phone-like 12 MP JPEG of 3–6 MB: colour gradients under per-pixel noise (sensor grain, which is
 * what keeps a real photo from compressing below a few MB), quality 90, and EXIF orientation 6 (the
 * phone held upright: stored landscape, shown portrait), so the pipeline's auto-orient really rotates.
 * A linear congruential generator per pixel instead of the seeded float PRNG: 36 M samples a photo.
 */
export async function makePhoto(index: number, seed = 20261224): Promise<Buffer> {
  const random = seededRandom(seed + index * 104_729);
  const pixels = Buffer.alloc(PHOTO_WIDTH * PHOTO_HEIGHT * 3);
  const hue = [random(), random(), random()];
  let state = Math.floor(random() * 2 ** 32) >>> 0;
  for (let y = 0; y < PHOTO_HEIGHT; y++) {
    for (let x = 0; x < PHOTO_WIDTH; x++) {
      const o = (y * PHOTO_WIDTH + x) * 3;
      for (let c = 0; c < 3; c++) {
        state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
        const h = hue[c]!;
        const value = 255 * (h * (x / PHOTO_WIDTH) + (1 - h) * (y / PHOTO_HEIGHT)) + ((state >>> 24) - 128) * 0.17;
        pixels[o + c] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
  return sharp(pixels, { raw: { width: PHOTO_WIDTH, height: PHOTO_HEIGHT, channels: 3 } })
    .jpeg({ quality: 90 })
    .withExif({ IFD0: { Make: 'IntakeBench', Model: 'Phone 12MP', Orientation: '6', Software: 'bench/photos.ts' } })
    .toBuffer();
}

export async function makePhotos(count: number, seed?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(await makePhoto(i, seed));
  return out;
}
