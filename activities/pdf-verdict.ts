import type { PdfInspection } from './pdf-inspection';

/**
 * The most PDF text kept for the search index, in UTF-16 code units. 64 Ki characters covers the
 * words of about 20 dense pages and keeps a row, and the tsvector built from it, small.
 */
export const PDF_BODY_TEXT_MAX_CHARS = 64 * 1024;

export interface PdfSettings {
  maxPages: number;
  encrypted: 'reject' | 'accept';
}

export type PdfVerdict =
  { kind: 'accepted'; pages: number; encrypted: boolean; bodyText: string } | { kind: 'rejected'; reason: string };

const ENCRYPTED = 'encrypted PDF';

/** What the validate step does with a parsed (or unparseable) PDF: accept it, or reject it saying why. */
export function pdfVerdict(inspection: PdfInspection, settings: PdfSettings): PdfVerdict {
  switch (inspection.kind) {
    case 'invalid':
      return { kind: 'rejected', reason: `The PDF cannot be parsed: ${oneLine(inspection.detail)}.` };
    case 'too-many-pages':
      return {
        kind: 'rejected',
        reason: `The PDF has ${inspection.pages} pages, more than the ${settings.maxPages} allowed (INTAKE_PDF_MAX_PAGES).`,
      };
    case 'timed-out':
      return {
        kind: 'rejected',
        reason: `The PDF was not parsed within the ${inspection.limitMs} ms allowed (INTAKE_PDF_PARSE_TIMEOUT).`,
      };
    case 'out-of-memory':
      return {
        kind: 'rejected',
        reason: `Parsing the PDF needed more than the ${inspection.limitMb} MB allowed (INTAKE_PDF_PARSE_MEMORY_MB).`,
      };
    case 'password':
      return { kind: 'rejected', reason: `${ENCRYPTED}: it needs a password to open, so it cannot be checked.` };
    case 'parsed':
      if (inspection.encrypted && settings.encrypted === 'reject') {
        return {
          kind: 'rejected',
          reason: `${ENCRYPTED}: encrypted PDFs are not accepted (INTAKE_PDF_ENCRYPTED=reject).`,
        };
      }
      return {
        kind: 'accepted',
        pages: inspection.pages,
        encrypted: inspection.encrypted,
        bodyText: bodyText(inspection.text),
      };
  }
}

/**
 * The text as Postgres can store it: whitespace runs collapsed, capped, without NUL (which a text
 * column refuses) or unpaired surrogates (which UTF-8 cannot encode; the cap can split a pair).
 */
export function bodyText(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, PDF_BODY_TEXT_MAX_CHARS)
    .replace(/\0/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '');
}

function oneLine(detail: string): string {
  return detail.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
}
