import { describe, expect, it } from 'vitest';
import { noThumbnailReason } from '../../activities/make-pdf-thumbnail';
import { renderPdfFirstPage } from '../../activities/pdf-thumbnail';
import { pdfWithPages } from '../support/pdf-samples';

const LIMITS = { timeoutMs: 30_000, memoryMb: 256 };
const REQUEST = { maxEdge: 256, maxImagePixels: 50_000_000 };

/** Pixels whose red, green and blue are all below 128: ink on the white page. */
function darkPixels(pixels: Uint8Array): number {
  let dark = 0;
  for (let at = 0; at < pixels.length; at += 4) {
    if (pixels[at]! < 128 && pixels[at + 1]! < 128 && pixels[at + 2]! < 128) dark++;
  }
  return dark;
}

describe('renderPdfFirstPage', () => {
  it('draws page 1 of a text PDF in a bounded thread, its longest edge at the size asked, with dark text on white', async () => {
    const pdf = await pdfWithPages(['QUOKKA', 'the second page is never drawn'], {}, { fontSize: 72 });
    const started = performance.now();
    const page = await renderPdfFirstPage(pdf, REQUEST, LIMITS);
    const ms = performance.now() - started;
    if (page.kind !== 'rendered') throw new Error(`not rendered: ${JSON.stringify(page)}`);
    // pdfkit's default page is US Letter, 612 × 792 points: portrait, so the height is the long edge.
    expect({ width: page.width, height: page.height }).toEqual({ width: 198, height: 256 });
    expect(page.pixels).toHaveLength(198 * 256 * 4);
    expect(darkPixels(page.pixels)).toBeGreaterThan(200);
    // Most of the page is paper.
    expect(darkPixels(page.pixels)).toBeLessThan(198 * 256 * 0.2);
    console.log(`page-1 render of a pdfkit text PDF at 256 px, thread start included: ${Math.round(ms)} ms`);
  });

  it('answers timed-out, not a drawing, when the page is not drawn within the time allowed', async () => {
    const pdf = await pdfWithPages(['slow'], {}, { fontSize: 72 });
    expect(await renderPdfFirstPage(pdf, REQUEST, { timeoutMs: 1, memoryMb: 256 })).toEqual({
      kind: 'timed-out',
      limitMs: 1,
    });
  });

  it('ends the thread and rejects with the reason when the activity is cancelled', async () => {
    const pdf = await pdfWithPages(['cancelled'], {}, { fontSize: 72 });
    const abort = new AbortController();
    const rendering = renderPdfFirstPage(pdf, REQUEST, LIMITS, abort.signal);
    abort.abort(new Error('the activity was cancelled'));
    await expect(rendering).rejects.toThrow('the activity was cancelled');
  });
});

describe('noThumbnailReason', () => {
  it('names the limit a render ran into, or what pdfjs could not draw', () => {
    expect(noThumbnailReason({ kind: 'timed-out', limitMs: 500 })).toBe(
      "No thumbnail: the PDF's first page was not drawn within the 500 ms allowed (INTAKE_PDF_PARSE_TIMEOUT).",
    );
    expect(noThumbnailReason({ kind: 'out-of-memory', limitMb: 64 })).toBe(
      "No thumbnail: drawing the PDF's first page needed more than the 64 MB allowed (INTAKE_PDF_PARSE_MEMORY_MB).",
    );
    expect(noThumbnailReason({ kind: 'invalid', detail: 'Invalid page\n request.' })).toBe(
      "No thumbnail: the PDF's first page cannot be drawn: Invalid page request.",
    );
  });
});
