import sharp from 'sharp';

/** 3:2 like most cameras; 1224 × 816 ≈ 1.0 megapixel. */
export const IMAGE_WIDTH = 1224;
export const IMAGE_HEIGHT = 816;

/** mulberry32: a tiny seeded PRNG, so every run (and every machine) benchmarks the same bytes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A photo-like JPEG: two crossing colour gradients (smooth areas, like sky) under per-pixel noise
 * (texture, like foliage or sensor grain), which together land in the 200–400 KB a 1 MP camera JPEG
 * has. Carries EXIF (camera, date, orientation) so the pipeline's auto-orient and metadata stripping
 * do their real work.
 */
export async function makeJpeg(index: number, seed = 20240601): Promise<Buffer> {
  const random = seededRandom(seed + index * 7919);
  const pixels = Buffer.alloc(IMAGE_WIDTH * IMAGE_HEIGHT * 3);
  const hue = [random(), random(), random()];
  const noise = 18 + random() * 10;
  for (let y = 0; y < IMAGE_HEIGHT; y++) {
    for (let x = 0; x < IMAGE_WIDTH; x++) {
      const o = (y * IMAGE_WIDTH + x) * 3;
      const gx = x / IMAGE_WIDTH;
      const gy = y / IMAGE_HEIGHT;
      for (let c = 0; c < 3; c++) {
        const base = 255 * (hue[c]! * gx + (1 - hue[c]!) * gy);
        const value = base + (random() - 0.5) * 2 * noise;
        pixels[o + c] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
  const when = new Date(Date.UTC(2024, 5, 1, 12, 0, index % 60));
  const exifDate = when.toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, ':');
  return sharp(pixels, { raw: { width: IMAGE_WIDTH, height: IMAGE_HEIGHT, channels: 3 } })
    .jpeg({ quality: 85, mozjpeg: false })
    .withExif({
      IFD0: {
        Make: 'IntakeBench',
        Model: `Synthetic ${index % 4}`,
        DateTime: exifDate,
        Orientation: '1',
        Software: 'bench/images.ts',
      },
    })
    .toBuffer();
}

/** `count` distinct deterministic JPEGs. */
export async function makeJpegs(count: number, seed?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(await makeJpeg(i, seed));
  return out;
}
