import { Worker } from 'node:worker_threads';

/** A thread's answer, or the limit it ran into. */
export type Bounded<T> = T | { kind: 'timed-out'; limitMs: number } | { kind: 'out-of-memory'; limitMb: number };

export interface ThreadLimits {
  timeoutMs: number;
  memoryMb: number;
}

/**
 * Runs a worker-thread script that posts one message, bounded in heap (resourceLimits) and time (the
 * thread is terminated): work on untrusted input (a PDF, a tenant's schema) can exhaust only its own
 * thread, never the process with every workflow it runs. Only the host's own failures throw, and an
 * abort of `signal` (the thread is terminated, the promise rejects with the signal's reason).
 */
export function runBoundedThread<T>(
  script: URL,
  workerData: unknown,
  transferList: ArrayBuffer[],
  limits: ThreadLimits,
  signal?: AbortSignal,
): Promise<Bounded<T>> {
  const worker = new Worker(script, {
    workerData,
    transferList,
    resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb },
    // Node runs the thread's TypeScript itself; a loader inherited from the parent (tsx) would spend
    // the thread's heap compiling instead of working.
    execArgv: [],
  });
  return new Promise<Bounded<T>>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => resolve({ kind: 'timed-out', limitMs: limits.timeoutMs })),
      limits.timeoutMs,
    );
    const onAbort = () => settle(() => reject(signal!.reason as Error));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    worker.once('message', (result: T) => settle(() => resolve(result)));
    worker.once('error', (error: Error & { code?: string }) =>
      settle(() =>
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? resolve({ kind: 'out-of-memory', limitMb: limits.memoryMb })
          : reject(error),
      ),
    );
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`the worker thread ${script.pathname} exited (code ${code}) without an answer`))),
    );
  });
}
