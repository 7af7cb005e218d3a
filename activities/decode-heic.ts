import decode from 'heic-decode';
import sharp, { type Sharp } from 'sharp';

export const HEIC_TYPES: readonly string[] = ['image/heic', 'image/heif'];

/** A HEIC image whose header declares more pixels than allowed: refused before its pixels are decoded. */
export class HeicTooLarge extends Error {
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    super(`HEIC image of ${width} × ${height} pixels`);
  }
}

/**
 * Decodes a HEIC/HEIF photo's primary image to a sharp pipeline. Sharp's prebuilt libvips has no HEVC
 * decoder, so libheif compiled to WebAssembly (heic-decode) does it: no native code, nothing for an
 * install script to build. The container is parsed first and the pixel limit checked against its
 * header, so an oversized image is refused before any memory is spent on its pixels. libheif applies
 * the container's rotation and mirroring, so the pixels come out as the photo displays.
 */
export async function decodeHeic(bytes: Buffer, maxPixels: number): Promise<Sharp> {
  const images = await decode.all({ buffer: bytes });
  try {
    const primary = images[0];
    if (!primary) throw new Error('the HEIF container holds no image');
    if (primary.width * primary.height > maxPixels) throw new HeicTooLarge(primary.width, primary.height);
    const { width, height, data } = await primary.decode();
    return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
      raw: { width, height, channels: 4 },
    });
  } finally {
    images.dispose();
  }
}
