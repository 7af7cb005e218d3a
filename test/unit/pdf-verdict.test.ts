import { describe, expect, it } from 'vitest';
import { PDF_BODY_TEXT_MAX_CHARS, bodyText, pdfVerdict } from '../../activities/pdf-verdict';

const REJECT = { maxPages: 10, encrypted: 'reject' } as const;
const ACCEPT = { maxPages: 10, encrypted: 'accept' } as const;

describe('pdfVerdict', () => {
  it('accepts a parsed, unencrypted PDF with its page count and text', () => {
    expect(pdfVerdict({ kind: 'parsed', pages: 3, encrypted: false, text: 'a  quokka\nsmiles' }, REJECT)).toEqual({
      kind: 'accepted',
      pages: 3,
      encrypted: false,
      bodyText: 'a quokka smiles',
    });
  });

  it('rejects an encrypted PDF unless encrypted ones are accepted', () => {
    const parsed = { kind: 'parsed', pages: 1, encrypted: true, text: 'x' } as const;
    expect(pdfVerdict(parsed, REJECT)).toEqual({
      kind: 'rejected',
      reason: 'encrypted PDF: encrypted PDFs are not accepted (INTAKE_PDF_ENCRYPTED=reject).',
    });
    expect(pdfVerdict(parsed, ACCEPT)).toMatchObject({ kind: 'accepted', encrypted: true, pages: 1 });
  });

  it('rejects a PDF that needs a password whatever the setting', () => {
    for (const settings of [REJECT, ACCEPT]) {
      expect(pdfVerdict({ kind: 'password' }, settings)).toEqual({
        kind: 'rejected',
        reason: 'encrypted PDF: it needs a password to open, so it cannot be checked.',
      });
    }
  });

  it('names the limit a PDF went past', () => {
    expect(pdfVerdict({ kind: 'too-many-pages', pages: 11 }, REJECT)).toEqual({
      kind: 'rejected',
      reason: 'The PDF has 11 pages, more than the 10 allowed (INTAKE_PDF_MAX_PAGES).',
    });
    expect(pdfVerdict({ kind: 'timed-out', limitMs: 500 }, REJECT)).toEqual({
      kind: 'rejected',
      reason: 'The PDF was not parsed within the 500 ms allowed (INTAKE_PDF_PARSE_TIMEOUT).',
    });
    expect(pdfVerdict({ kind: 'out-of-memory', limitMb: 64 }, REJECT)).toEqual({
      kind: 'rejected',
      reason: 'Parsing the PDF needed more than the 64 MB allowed (INTAKE_PDF_PARSE_MEMORY_MB).',
    });
    expect(pdfVerdict({ kind: 'invalid', detail: 'Invalid PDF structure.\n' }, REJECT)).toEqual({
      kind: 'rejected',
      reason: 'The PDF cannot be parsed: Invalid PDF structure.',
    });
  });
});

describe('bodyText', () => {
  it('caps the text and leaves nothing Postgres refuses', () => {
    expect(bodyText('word '.repeat(PDF_BODY_TEXT_MAX_CHARS))).toHaveLength(PDF_BODY_TEXT_MAX_CHARS);
    expect(bodyText('a\0b')).toBe('ab');
    // The cap falls between the halves of a surrogate pair: the lone high half goes.
    const split = bodyText(`${'x'.repeat(PDF_BODY_TEXT_MAX_CHARS - 1)}😀`);
    expect(split).toBe('x'.repeat(PDF_BODY_TEXT_MAX_CHARS - 1));
    expect(bodyText('a\uDC00b😀')).toBe('ab😀');
  });
});
