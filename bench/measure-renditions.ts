import sharp from 'sharp';
import { seededRandom } from './images';
import { round } from './stats';

/** A 12-megapixel phone photo's size (4:3), so the 2048-pixel rendition is a real downscale. */
const PHOTO_WIDTH = 4032;
const PHOTO_HEIGHT = 3024;

export interface EncodingRun {
  format: 'webp' | 'avif';
  quality: number;
  effort: number;
  maxEdge: number;
  /** CPU time (all of the process's threads) per image, encoding only. */
  cpuMsPerImage: number;
  bytesPerImage: number;
  /** This setting's CPU per image over WebP's at its defaults for the same size, in the same run. */
  cpuVsWebp: number;
  bytesVsWebp: number;
  /** Peak signal-to-noise ratio of the decoded rendition against the resized pixels it encodes, dB. */
  psnrDb: number;
}

export interface RenditionsMeasurement {
  images: number;
  source: string;
  runs: EncodingRun[];
}

/** Gradients under noise, as bench/images.ts, at phone resolution. */
async function photo(index: number): Promise<Buffer> {
  const random = seededRandom(20261221 + index * 7919);
  const pixels = Buffer.alloc(PHOTO_WIDTH * PHOTO_HEIGHT * 3);
  const hue = [random(), random(), random()];
  for (let y = 0; y < PHOTO_HEIGHT; y++) {
    for (let x = 0; x < PHOTO_WIDTH; x++) {
      const o = (y * PHOTO_WIDTH + x) * 3;
      for (let c = 0; c < 3; c++) {
        const base = 255 * (hue[c]! * (x / PHOTO_WIDTH) + (1 - hue[c]!) * (y / PHOTO_HEIGHT));
        const value = base + (random() - 0.5) * 40;
        pixels[o + c] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
  return pixels;
}

function psnr(expected: Buffer, actual: Buffer): number {
  let squared = 0;
  for (let i = 0; i < expected.length; i++) squared += (expected[i]! - (actual[i] ?? 0)) ** 2;
  const mse = squared / expected.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * The CPU cost of an AVIF rendition beside a WebP one: each photo is resized to each edge once (not
 * measured), then encoded with each setting in turn. Settings run interleaved per image so machine
 * noise falls on all of them alike; ratios come from this one run.
 */
export async function measureRenditions(options: {
  images: number;
  edges: number[];
  settings: { format: 'webp' | 'avif'; quality: number; effort: number }[];
  log: (line: string) => void;
}): Promise<RenditionsMeasurement> {
  const totals = new Map<string, { cpu: number; bytes: number; psnr: number }>();
  const keyOf = (s: { format: string; quality: number; effort: number }, edge: number) =>
    `${s.format}:${s.quality}:${s.effort}:${edge}`;
  for (let i = 0; i < options.images; i++) {
    const raw = await photo(i);
    for (const edge of options.edges) {
      const resized = await sharp(raw, { raw: { width: PHOTO_WIDTH, height: PHOTO_HEIGHT, channels: 3 } })
        .resize({ width: edge, height: edge, fit: 'inside' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const { width, height, channels } = resized.info;
      for (const setting of options.settings) {
        const input = sharp(resized.data, { raw: { width, height, channels } });
        const encoder =
          setting.format === 'webp'
            ? input.webp({ quality: setting.quality, effort: setting.effort })
            : input.avif({ quality: setting.quality, effort: setting.effort });
        const before = cpuMs();
        const out = await encoder.toBuffer();
        const spent = cpuMs() - before;
        const key = keyOf(setting, edge);
        const total = totals.get(key) ?? { cpu: 0, bytes: 0, psnr: 0 };
        const decoded = await sharp(out).removeAlpha().raw().toBuffer();
        totals.set(key, {
          cpu: total.cpu + spent,
          bytes: total.bytes + out.length,
          psnr: total.psnr + psnr(resized.data, decoded),
        });
      }
    }
    options.log(`renditions: image ${i + 1}/${options.images} encoded`);
  }
  const runs: EncodingRun[] = [];
  for (const edge of options.edges) {
    const webp = totals.get(keyOf(options.settings[0]!, edge))!;
    for (const setting of options.settings) {
      const total = totals.get(keyOf(setting, edge))!;
      runs.push({
        ...setting,
        maxEdge: edge,
        cpuMsPerImage: round(total.cpu / options.images, 1),
        bytesPerImage: Math.round(total.bytes / options.images),
        cpuVsWebp: round(total.cpu / webp.cpu, 2),
        bytesVsWebp: round(total.bytes / webp.bytes, 2),
        psnrDb: round(total.psnr / options.images, 1),
      });
    }
  }
  return { images: options.images, source: `${PHOTO_WIDTH} × ${PHOTO_HEIGHT} synthetic photo`, runs };
}
