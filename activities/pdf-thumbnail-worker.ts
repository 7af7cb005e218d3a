/*
 * Runs inside a worker thread started by pdf-thumbnail.ts, so a hostile PDF can exhaust only this
 * thread's heap (resourceLimits) and time (the host terminates it). Node runs this file by stripping its
 * types, so it imports only packages and Node built-ins, and uses erasable TypeScript only.
 *
 * pdfjs-dist draws on @napi-rs/canvas (Skia, a prebuilt binary from npm) through its NodeCanvasFactory.
 * The canvas's pixels are native memory outside the heap limit; they are bounded by the size asked for,
 * the `thumb` rendition's longest edge.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { Canvas, SKRSContext2D } from '@napi-rs/canvas';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

interface RenderRequest {
  bytes: Uint8Array;
  /** The longest edge of the rendered page, in pixels. */
  maxEdge: number;
  /** Embedded images past this many pixels are left out of the drawing (INTAKE_MAX_PIXELS). */
  maxImagePixels: number;
}

const request = workerData as RenderRequest;
const pdfjsRoot = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
// The 14 standard fonts, the CJK CMaps and the JPEG 2000 / JBIG2 decoders ship with pdfjs; without
// them those pages draw blank, not fail.
const standardFontDataUrl = `${join(pdfjsRoot, 'standard_fonts')}/`;
const cMapUrl = `${join(pdfjsRoot, 'cmaps')}/`;
const wasmUrl = `${join(pdfjsRoot, 'wasm')}/`;

async function render() {
  const task = getDocument({
    data: request.bytes,
    standardFontDataUrl,
    cMapUrl,
    cMapPacked: true,
    wasmUrl,
    // Glyphs drawn as paths: no font is loaded into, or looked up on, the machine.
    disableFontFace: true,
    useSystemFonts: false,
    maxImageSize: request.maxImagePixels,
    // The validate step already refused what does not parse; a thumbnail draws what it can.
    stopAtErrors: false,
    verbosity: 0,
  });
  try {
    const document = await task.promise;
    const page = await document.getPage(1);
    const natural = page.getViewport({ scale: 1 });
    const scale = request.maxEdge / Math.max(natural.width, natural.height);
    const viewport = page.getViewport({ scale });
    const width = Math.max(1, Math.round(viewport.width));
    const height = Math.max(1, Math.round(viewport.height));
    // pdfjs's own factory, so the canvases it makes for patterns and groups are of the same kind.
    const factory = document.canvasFactory as {
      create(w: number, h: number): { canvas: Canvas; context: SKRSContext2D };
    };
    const { canvas, context } = factory.create(width, height);
    // A PDF page is paper: what it leaves unpainted is white, not transparent.
    await page.render({ canvas, canvasContext: context, viewport, background: 'white' }).promise;
    const pixels = new Uint8Array(context.getImageData(0, 0, width, height).data);
    return { kind: 'rendered' as const, width, height, pixels };
  } catch (error) {
    return { kind: 'invalid' as const, detail: (error as Error).message };
  } finally {
    await task.destroy();
  }
}

const result = await render();
parentPort!.postMessage(result, result.kind === 'rendered' ? [result.pixels.buffer as ArrayBuffer] : []);
