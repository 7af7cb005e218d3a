import { runBoundedThread, type Bounded, type ThreadLimits } from '../lib/bounded-thread';

/** Page 1 of a PDF as RGBA pixels, or why it could not be drawn. */
export type PdfPageRender = Bounded<
  { kind: 'rendered'; width: number; height: number; pixels: Uint8Array } | { kind: 'invalid'; detail: string }
>;

export interface PdfRenderRequest {
  /** The longest edge of the drawn page, in pixels (the `thumb` rendition's size). */
  maxEdge: number;
  /** Embedded images past this many pixels are left out of the drawing. */
  maxImagePixels: number;
}

const SCRIPT = new URL('./pdf-thumbnail-worker.ts', import.meta.url);

/**
 * Draws a PDF's first page with pdfjs-dist on @napi-rs/canvas in a bounded thread: a page built to
 * exhaust memory or to loop ends that thread, never the worker. `signal` (the activity's
 * cancellation) ends the thread too.
 */
export function renderPdfFirstPage(
  bytes: Uint8Array,
  request: PdfRenderRequest,
  limits: ThreadLimits,
  signal?: AbortSignal,
): Promise<PdfPageRender> {
  // A copy the thread may own: the caller's buffer may be a slice of a larger pooled one.
  const own = new Uint8Array(bytes);
  return runBoundedThread(SCRIPT, { bytes: own, ...request }, [own.buffer], limits, signal);
}
