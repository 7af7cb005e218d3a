import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Config } from '../config/env';

export interface ScanVerdict {
  infected: boolean;
  /** The ClamAV signature name when infected, e.g. "Eicar-Test-Signature". */
  signature: string | null;
}

/**
 * clamd refused the stream as longer than its StreamMaxLength. Asking again cannot help: the file
 * will never get a verdict from this scanner.
 */
export class ScanSizeLimitError extends Error {
  override name = 'ScanSizeLimitError';
}

export interface Scanner {
  /** Streams the bytes to the scanner. Throws when the scanner is unreachable or gives no verdict. */
  scanStream(stream: Readable): Promise<ScanVerdict>;
  /** True when the scanner answers PING. */
  ping(): Promise<boolean>;
}

/** The slice of the `clamscan` package (which ships no types) that Intake uses. */
interface NodeClamInstance {
  scanStream(stream: Readable): Promise<{ isInfected: boolean | null; viruses: string[]; resultString?: string }>;
  ping(): Promise<{ end(): void }>;
}
interface NodeClamClass {
  new (): { init(options: Record<string, unknown>): Promise<NodeClamInstance> };
}

// clamscan is CommonJS without type declarations; load it through require so its shape is declared once here.
const NodeClam = createRequire(import.meta.url)('clamscan') as NodeClamClass;

/**
 * A clamd client over TCP (INSTREAM). It fails closed: there is no local-binary fallback, and an
 * unreachable daemon, a timeout or an unparseable reply throws, so the activity is retried and nothing
 * is ever treated as clean without a verdict.
 */
export function createClamdScanner(clamd: Pick<Config['clamd'], 'host' | 'port' | 'timeoutMs'>): Scanner {
  let client: Promise<NodeClamInstance> | null = null;

  const connect = (): Promise<NodeClamInstance> => {
    client ??= new NodeClam()
      .init({
        preference: 'clamdscan',
        clamscan: { active: false },
        clamdscan: {
          host: clamd.host,
          port: clamd.port,
          timeout: clamd.timeoutMs,
          localFallback: false,
          // The daemon may start after the worker; reachability is checked on each scan instead.
          bypassTest: true,
        },
      })
      .catch((error: unknown) => {
        client = null;
        throw error;
      });
    return client;
  };

  return {
    async scanStream(stream) {
      const clam = await connect();
      const body = await withFirstChunk(stream);
      if (!body) {
        // clamscan sends no INSTREAM command for a stream without data (clamd answers UNKNOWN COMMAND).
        // Zero bytes match no signature; still require a live daemon, so the scan never fails open.
        (await clam.ping()).end();
        return { infected: false, signature: null };
      }
      const result = await clam.scanStream(body).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (/size limit exceeded/i.test(message)) throw new ScanSizeLimitError(message.trim());
        throw error;
      });
      if (result.isInfected === true) {
        return { infected: true, signature: result.viruses[0] ?? 'unknown signature' };
      }
      if (result.isInfected === false) return { infected: false, signature: null };
      throw new Error(`clamd gave no verdict: ${result.resultString ?? 'no reply'}`);
    },
    async ping() {
      try {
        const socket = await (await connect()).ping();
        socket.end();
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The same bytes as `stream`, or null when it ends without any. */
async function withFirstChunk(stream: Readable): Promise<Readable | null> {
  const chunks = stream[Symbol.asyncIterator]();
  const first = await chunks.next();
  if (first.done) return null;
  return Readable.from(
    (async function* () {
      yield first.value as Buffer;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Buffer;
    })(),
    { objectMode: false },
  );
}
