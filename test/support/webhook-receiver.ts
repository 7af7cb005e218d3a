import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from './wait-until';

export interface ReceivedWebhook {
  /** The request path, so one receiver can stand in for several endpoints (/tenant, /callback). */
  path: string;
  body: string;
  headers: Record<string, string>;
  receivedAt: number;
}

export interface WebhookReceiver {
  /** e.g. http://127.0.0.1:41234/tenant */
  url(path: string): string;
  /** Every request received so far, in arrival order. */
  readonly received: readonly ReceivedWebhook[];
  waitFor(what: string, match: (webhook: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

/** A local HTTP endpoint that records every delivery and answers 204 (tests set INTAKE_WEBHOOK_ALLOW_PRIVATE). */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      received.push({
        path: req.url ?? '/',
        body: Buffer.concat(chunks).toString('utf8'),
        headers,
        receivedAt: Date.now(),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => `${base}${path.startsWith('/') ? path : `/${path}`}`,
    received,
    waitFor: (what, match, timeoutMs = 30_000) =>
      waitUntil(`the webhook ${what}`, () => received.find(match), { timeoutMs, intervalMs: 100 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
