import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/**
 * The EICAR anti-virus test file (https://www.eicar.org), assembled at run time from its standard
 * string so the repository itself never holds a file every virus scanner flags.
 */
export function eicarTestFile(): Buffer {
  const parts = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'];
  return Buffer.from(parts.join(''), 'ascii');
}

export interface PhotoOptions {
  /** Stored (sensor) size; EXIF orientation 5–8 swaps how it displays. */
  width: number;
  height: number;
  orientation: number;
}

/**
 * A JPEG as a phone writes it: EXIF with camera details (which renditions must not leak), an
 * orientation tag (which renditions must apply) and a Display P3 colour profile (which they must keep).
 */
export function photoWithExif(options: PhotoOptions): Promise<Buffer> {
  return sharp({ create: { width: options.width, height: options.height, channels: 3, background: '#cc3366' } })
    .jpeg({ quality: 90 })
    .withExif({ IFD0: { Make: 'IntakeCam', Model: 'E2E-1', Copyright: 'private camera serial 0042' } })
    .withMetadata({ orientation: options.orientation })
    .withIccProfile('p3')
    .toBuffer();
}

/** A JPEG signature and JFIF header followed by bytes that decode to nothing: magic bytes say image, content does not. */
export function corruptJpeg(): Buffer {
  const header = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00]);
  // A fixed pseudo-random filler keeps the test deterministic.
  const garbage = Buffer.alloc(4096);
  let x = 0x2545f491;
  for (let i = 0; i < garbage.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    garbage[i] = x & 0xff;
  }
  return Buffer.concat([header, garbage]);
}

/** A one-frame animated PNG (acTL and fcTL before the image data), as animation tools write them. */
export async function animatedPng(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width, height, channels: 3, background: '#e33' } })
    .png()
    .toBuffer();
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const animation = Buffer.alloc(8);
  animation.writeUInt32BE(1, 0); // frames
  const frame = Buffer.alloc(26);
  frame.writeUInt32BE(width, 4);
  frame.writeUInt32BE(height, 8);
  frame.writeUInt16BE(1, 20); // delay 1/10 s
  frame.writeUInt16BE(10, 22);
  // Signature (8 bytes) and IHDR (25 bytes) stay first; the animation chunks must precede IDAT.
  return Buffer.concat([png.subarray(0, 33), chunk('acTL', animation), chunk('fcTL', frame), png.subarray(33)]);
}
