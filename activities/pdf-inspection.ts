import { runBoundedThread, type Bounded } from '../lib/bounded-thread';

/** What Intake learns of a PDF by parsing it, or why it could not. */
export type PdfInspection = Bounded<
  | { kind: 'parsed'; pages: number; encrypted: boolean; text: string }
  /** Encrypted with a user password: nothing in it can be read without it. */
  | { kind: 'password' }
  | { kind: 'invalid'; detail: string }
  | { kind: 'too-many-pages'; pages: number }
>;

export interface PdfLimits {
  maxPages: number;
  parseTimeoutMs: number;
  parseMemoryMb: number;
}

const SCRIPT = new URL('./pdf-inspection-worker.ts', import.meta.url);

/**
 * Parses a PDF with pdfjs-dist in a bounded thread (a PDF built to exhaust memory or loop ends that
 * thread) and reads the text of its first `textPages` pages.
 */
export function inspectPdf(bytes: Uint8Array, limits: PdfLimits, textPages: number): Promise<PdfInspection> {
  // A copy the thread may own: the caller's buffer may be a slice of a larger pooled one.
  const own = new Uint8Array(bytes);
  return runBoundedThread(SCRIPT, { bytes: own, maxPages: limits.maxPages, textPages }, [own.buffer], {
    timeoutMs: limits.parseTimeoutMs,
    memoryMb: limits.parseMemoryMb,
  });
}
