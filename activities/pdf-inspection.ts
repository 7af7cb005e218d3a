import { Worker } from 'node:worker_threads';

/** What Intake learns of a PDF by parsing it, or why it could not. */
export type PdfInspection =
  | { kind: 'parsed'; pages: number; encrypted: boolean; text: string }
  /** Encrypted with a user password: nothing in it can be read without it. */
  | { kind: 'password' }
  | { kind: 'invalid'; detail: string }
  | { kind: 'too-many-pages'; pages: number }
  | { kind: 'timed-out'; limitMs: number }
  | { kind: 'out-of-memory'; limitMb: number };

export interface PdfLimits {
  maxPages: number;
  parseTimeoutMs: number;
  parseMemoryMb: number;
}

const WORKER_URL = new URL('./pdf-inspection-worker.ts', import.meta.url);

/**
 * Parses a PDF with pdfjs-dist in a worker thread whose heap and time are bounded: a PDF built to
 * exhaust memory or loop ends that thread, never the worker process with every workflow it runs.
 * `textPages` of its first pages are read for their text. Only the host's own failures throw.
 */
export function inspectPdf(bytes: Uint8Array, limits: PdfLimits, textPages: number): Promise<PdfInspection> {
  // A copy the thread may own: the caller's buffer may be a slice of a larger pooled one.
  const own = new Uint8Array(bytes);
  const worker = new Worker(WORKER_URL, {
    workerData: { bytes: own, maxPages: limits.maxPages, textPages },
    transferList: [own.buffer],
    resourceLimits: { maxOldGenerationSizeMb: limits.parseMemoryMb },
    // Node runs the thread's TypeScript itself; a loader inherited from the parent (tsx) would spend
    // the thread's heap on compiling instead of parsing.
    execArgv: [],
  });
  return new Promise<PdfInspection>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => resolve({ kind: 'timed-out', limitMs: limits.parseTimeoutMs })),
      limits.parseTimeoutMs,
    );
    worker.once('message', (result: PdfInspection) => settle(() => resolve(result)));
    worker.once('error', (error: Error & { code?: string }) =>
      settle(() =>
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? resolve({ kind: 'out-of-memory', limitMb: limits.parseMemoryMb })
          : reject(error),
      ),
    );
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`the PDF parser thread exited (code ${code}) without an answer`))),
    );
  });
}
