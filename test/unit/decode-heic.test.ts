import { describe, expect, it } from 'vitest';
import { decodeHeic, HeicTooLarge } from '../../activities/decode-heic';
import { HEIC_SQUARE_RGB, heicPhoto } from '../support/image-samples';

describe('decodeHeic', () => {
  it('decodes a HEIC photo to its pixels, which sharp alone cannot', async () => {
    const image = await decodeHeic(heicPhoto(), 50_000_000);
    const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect({ width: info.width, height: info.height }).toEqual({ width: 320, height: 240 });
    const topLeft = [...data.subarray((20 * 320 + 20) * 3, (20 * 320 + 20) * 3 + 3)];
    topLeft.forEach((value, c) => expect(Math.abs(value - HEIC_SQUARE_RGB[c]!)).toBeLessThanOrEqual(24));
  });

  it('refuses an image above the pixel limit from the header, before decoding its pixels', async () => {
    const error = await decodeHeic(heicPhoto(), 76_799).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeicTooLarge);
    expect(error).toMatchObject({ width: 320, height: 240 });
  });

  it('fails on bytes that are not a HEIF container', async () => {
    await expect(decodeHeic(Buffer.from('not a heic file at all, only words'), 1_000_000)).rejects.toThrow();
  });
});
