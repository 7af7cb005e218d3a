import sharp from 'sharp';

/*
 * The chaos suite's clients, well-behaved ones: each upload carries its own Idempotency-Key and is
 * retried with the same key after a network error or a 503 (after the Retry-After it names); any
 * other answer is final, so a 500 is counted, never retried away. Every status seen is reported.
 */

/** The longest a client waits for one answer: a hung API is a network error, retried. */
const REQUEST_TIMEOUT_MS = 30_000;
const NETWORK_RETRY_MS = 500;
const LONG_POLL = '10s';

export interface ClientCounters {
  /** HTTP status → how many answers had it, across every request the client made. */
  statuses: Record<number, number>;
  networkErrors: number;
}

export interface UploadOutcome {
  key: string;
  /** The file the API accepted, or null when it never did by the deadline (or refused it). */
  fileId: string | null;
  /** The final answer when it was not 202 (a 500, a 4xx), else null. */
  refusedWith: number | null;
  /** How many times the same request was sent again. */
  retries: number;
}

export const TERMINAL = new Set(['READY', 'REJECTED', 'INFECTED', 'FAILED', 'DELETED']);

export function newCounters(): ClientCounters {
  return { statuses: {}, networkErrors: 0 };
}

/** Small distinct JPEGs (one colour each), so no two uploads share bytes. */
export async function makeImages(count: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp({
        create: { width: 320, height: 240, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: 200 } },
      })
        .jpeg()
        .toBuffer(),
    ),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterMs(response: Response): number {
  const value = Number(response.headers.get('retry-after'));
  return Number.isFinite(value) && value > 0 ? value * 1000 : 1000;
}

/** One request, counted; null for a network error (refused, reset, timed out). */
async function send(url: string, init: RequestInit, counters: ClientCounters): Promise<Response | null> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    counters.statuses[response.status] = (counters.statuses[response.status] ?? 0) + 1;
    return response;
  } catch {
    counters.networkErrors++;
    return null;
  }
}

/** Uploads `bytes` raw under `key`, retrying as a well-behaved client does until `deadline`. */
export async function uploadWithRetries(options: {
  apiUrl: string;
  apiKey: string;
  bytes: Buffer;
  filename: string;
  key: string;
  deadline: number;
  counters: ClientCounters;
}): Promise<UploadOutcome> {
  const { apiUrl, apiKey, bytes, filename, key, deadline, counters } = options;
  const outcome: UploadOutcome = { key, fileId: null, refusedWith: null, retries: -1 };
  while (Date.now() < deadline) {
    outcome.retries++;
    const response = await send(
      `${apiUrl}/v1/files?filename=${encodeURIComponent(filename)}`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'image/jpeg', 'Idempotency-Key': key },
        body: new Uint8Array(bytes),
      },
      counters,
    );
    if (!response) {
      await sleep(NETWORK_RETRY_MS);
      continue;
    }
    if (response.status === 202) {
      outcome.fileId = ((await response.json()) as { id: string }).id;
      return outcome;
    }
    await response.body?.cancel();
    if (response.status !== 503) {
      outcome.refusedWith = response.status;
      return outcome;
    }
    await sleep(Math.min(retryAfterMs(response), Math.max(0, deadline - Date.now())));
  }
  return outcome;
}

/** Long-polls the file until it is terminal or `deadline` passes; returns the last status seen. */
export async function waitForTerminal(options: {
  apiUrl: string;
  apiKey: string;
  fileId: string;
  deadline: number;
  counters: ClientCounters;
}): Promise<string> {
  const { apiUrl, apiKey, fileId, deadline, counters } = options;
  let status = 'UNKNOWN';
  while (Date.now() < deadline) {
    const response = await send(
      `${apiUrl}/v1/files/${encodeURIComponent(fileId)}?wait=${LONG_POLL}`,
      { headers: { Authorization: `Bearer ${apiKey}` } },
      counters,
    );
    if (response?.status === 200) {
      status = ((await response.json()) as { status: string }).status;
      if (TERMINAL.has(status)) return status;
      continue;
    }
    await response?.body?.cancel();
    await sleep(response?.status === 503 ? retryAfterMs(response) : NETWORK_RETRY_MS);
  }
  return status;
}
