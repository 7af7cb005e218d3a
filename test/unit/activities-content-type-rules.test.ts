import { describe, expect, it } from 'vitest';
import {
  TextSniffer,
  classifyText,
  declarationMatches,
  describeType,
  normalizeDeclaredType,
  rejectionReasons,
} from '../../activities/content-type-rules';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('declared content types', () => {
  it('treats a missing declaration and application/octet-stream as no declaration', () => {
    expect(normalizeDeclaredType(null)).toBeNull();
    expect(normalizeDeclaredType('')).toBeNull();
    expect(normalizeDeclaredType('application/octet-stream')).toBeNull();
  });

  it('canonicalises aliases, case and parameters', () => {
    expect(normalizeDeclaredType('image/jpg')).toBe('image/jpeg');
    expect(normalizeDeclaredType('Text/Plain; charset=UTF-8')).toBe('text/plain');
    expect(normalizeDeclaredType('text/json')).toBe('application/json');
  });

  it('accepts a declaration only when it agrees with the content', () => {
    expect(declarationMatches(null, 'image/png')).toBe(true);
    expect(declarationMatches('image/png', 'image/png')).toBe(true);
    expect(declarationMatches('image/jpeg', 'image/png')).toBe(false);
    expect(declarationMatches('text/csv', 'text/plain')).toBe(true);
    expect(declarationMatches('text/plain', 'application/json')).toBe(true);
    expect(declarationMatches('application/json', 'text/plain')).toBe(false);
    expect(declarationMatches('text/plain', 'application/pdf')).toBe(false);
  });
});

describe('text classification', () => {
  it('calls valid UTF-8 without NUL bytes plain text', () => {
    expect(classifyText(bytes('héllo wörld\n'), false)).toEqual({ kind: 'text' });
  });

  it('recognises JSON by its content even when nothing was declared', () => {
    expect(classifyText(bytes(' {"a": [1, 2]}'), false)).toEqual({ kind: 'json' });
  });

  it('reports JSON that does not parse when JSON was declared', () => {
    expect(classifyText(bytes('{"a": '), true).kind).toBe('invalid-json');
  });

  it('treats undeclared text that merely starts like JSON as plain text', () => {
    expect(classifyText(bytes('[draft] notes'), false)).toEqual({ kind: 'text' });
  });

  it('rejects invalid UTF-8 and NUL bytes', () => {
    expect(classifyText(new Uint8Array([0x61, 0xff, 0xfe, 0x62]), false)).toEqual({ kind: 'not-utf8' });
    expect(classifyText(new Uint8Array([0x61, 0x00, 0x62]), false)).toEqual({ kind: 'has-nul' });
  });

  it('accepts a multi-byte character split across chunks', () => {
    const euro = bytes('price: 5 €');
    const sniffer = new TextSniffer(false);
    sniffer.push(euro.subarray(0, euro.length - 1));
    sniffer.push(euro.subarray(euro.length - 1));
    expect(sniffer.finish()).toEqual({ kind: 'text' });
  });

  it('stops keeping JSON-looking text past the parse limit: declared JSON is refused, the rest is text', () => {
    const feed = (wantJson: boolean, ...chunks: string[]) => {
      const sniffer = new TextSniffer(wantJson, 16);
      for (const chunk of chunks) sniffer.push(bytes(chunk));
      return sniffer.finish();
    };
    expect(feed(true, '{"a": [1, 2, 3, ', '4, 5, 6]}')).toEqual({ kind: 'json-too-large', limitChars: 16 });
    expect(feed(false, '[1, 2, 3, 4, 5, ', '6, 7]')).toEqual({ kind: 'text' });
    expect(feed(false, '[1, 2, 3, 4, 5', '\u0000')).toEqual({ kind: 'has-nul' });
    expect(feed(true, '{"a": 1}')).toEqual({ kind: 'json' });
  });

  it('rejects a multi-byte character cut off at the end of the file', () => {
    const euro = bytes('price: 5 €');
    expect(classifyText(euro.subarray(0, euro.length - 1), false)).toEqual({ kind: 'not-utf8' });
  });
});

describe('rejection reasons', () => {
  it('are sentences naming both the declared and the detected type', () => {
    const reason = rejectionReasons.mismatch('image/jpeg', 'image/png');
    expect(reason).toBe(
      'The file was uploaded as a JPEG image (image/jpeg), but its content is a PNG image (image/png).',
    );
  });

  it('state the size and the limit in human units', () => {
    expect(rejectionReasons.tooLarge(3 * 1024 * 1024, 2 * 1024 * 1024)).toBe(
      'The file is 3 MB, which is more than the 2 MB upload limit.',
    );
  });

  it('state the image size in megapixels', () => {
    expect(rejectionReasons.tooManyPixels(10_000, 6_000, 50_000_000)).toBe(
      'The image is 10000 × 6000 pixels (60.0 megapixels), more than the limit of 50.0 megapixels.',
    );
  });

  it('state a limit below a tenth of a megapixel in pixels, not as 0.0 megapixels', () => {
    expect(rejectionReasons.tooManyPixels(300, 200, 50_000)).toBe(
      'The image is 300 × 200 pixels (60,000 pixels), more than the limit of 50,000 pixels.',
    );
  });

  it('fall back to the MIME type for types without a friendly name', () => {
    expect(describeType('application/x-foo')).toBe('application/x-foo');
  });
});
