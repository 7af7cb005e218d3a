import { describe, expect, it } from 'vitest';
import { contentDisposition } from '../../api/serve-object';
import { sanitizeFilename } from '../../api/upload-fields';

/* Filename sanitising and the Content-Disposition header no filename can break. */

describe('HTTP API routes', () => {
  describe('helpers', () => {
    it('sanitises filenames: control characters out, separators neutralised, length capped', () => {
      expect(sanitizeFilename('a\u0000b\nc\u202e.jpg')).toBe('abc.jpg');
      expect(sanitizeFilename('../x')).toBe('.._x');
      expect(sanitizeFilename('')).toBe('upload');
      expect(Array.from(sanitizeFilename('é'.repeat(300)))).toHaveLength(255);
    });

    it('builds Content-Disposition that no filename can break', () => {
      expect(contentDisposition('résumé\r\n".pdf')).toBe(
        `attachment; filename="resume_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%0D%0A%22.pdf`,
      );
    });
  });
});
