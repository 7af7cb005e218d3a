import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local webhook endpoint for the end-to-end tests and the chaos suite: it records every delivery
 * and answers 204, or, while told to fail, the status it was given (a receiver having a bad day).
 */

export interface ReceivedWebhook {
  /** The request path, so one receiver can stand in for several endpoints (/tenant, /callback). */
  path: string;
  body: string;
  headers: Record<string, string>;
  receivedAt: number;
  /** What the receiver answered: 204, or the failing status set with failWith. */
  answeredWith: number;
}

export interface WebhookReceiver {
  /** e.g. http://127.0.0.1:41234/tenant */
  url(path: string): string;
  /** Every request received so far, in arrival order, failed ones included. */
  readonly received: readonly ReceivedWebhook[];
  waitFor(what: string, match: (webhook: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  /** Answers every request with `status` from now on; null goes back to 204. */
  failWith(status: number | null): void;
  close(): Promise<void>;
}

/** Starts the receiver on a free port of 127.0.0.1 (senders set INTAKE_WEBHOOK_ALLOW_PRIVATE). */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let failing: number | null = null;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const answeredWith = failing ?? 204;
      received.push({
        path: req.url ?? '/',
        body: Buffer.concat(chunks).toString('utf8'),
        headers,
        receivedAt: Date.now(),
        answeredWith,
      });
      res.writeHead(answeredWith).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => `${base}${path.startsWith('/') ? path : `/${path}`}`,
    received,
    async waitFor(what, match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the webhook ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    failWith(status) {
      failing = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
