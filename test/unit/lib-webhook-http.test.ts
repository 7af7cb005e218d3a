import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockedAddressReason, guardedLookup, parseAllowedTarget } from '../../lib/webhook-guard';
import { webhookFetch } from '../../lib/webhook-http';

const GUARD_ON = { allowPrivate: false, allowTargets: [] };
let server: Server;
let port: number;
let received = 0;
/** A second loopback service, on another port, that the allow-list does not name. */
let other: Server;
let otherPort: number;
let otherReceived = 0;

async function listen(onRequest: () => void): Promise<[Server, number]> {
  const started = createServer((_req, res) => {
    onRequest();
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
  return [started, (started.address() as AddressInfo).port];
}

beforeAll(async () => {
  [server, port] = await listen(() => received++);
  [other, otherPort] = await listen(() => otherReceived++);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => other.close(resolve));
});

describe('webhook connections', () => {
  it('refuse at connect time a name that resolves to a private address, sending nothing', async () => {
    const before = received;
    const error = (await webhookFetch(GUARD_ON)(`http://localhost:${port}/hook`, { method: 'POST', body: '{}' }).catch(
      (e: unknown) => e,
    )) as Error & { cause?: { code?: string; message?: string } };
    expect(error).toBeInstanceOf(Error);
    expect(error.cause?.code).toBe('EWEBHOOKREFUSED');
    expect(error.cause?.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(received).toBe(before);
  });

  it('connect where private targets are allowed (development)', async () => {
    const response = await webhookFetch({ allowPrivate: true, allowTargets: [] })(`http://localhost:${port}/hook`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(204);
  });

  it('connect to an allowed target by name, and refuse another port of the same host, sending nothing', async () => {
    // localhost may resolve to both loopback addresses: every one of them must be allowed.
    const allowTargets = [parseAllowedTarget(`127.0.0.1:${port}`), parseAllowedTarget(`[::1]:${port}`)];
    const guarded = webhookFetch({ allowPrivate: false, allowTargets });
    const response = await guarded(`http://localhost:${port}/hook`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(204);

    const before = otherReceived;
    const error = (await guarded(`http://localhost:${otherPort}/hook`, { method: 'POST', body: '{}' }).catch(
      (e: unknown) => e,
    )) as Error & { cause?: { code?: string } };
    expect(error.cause?.code).toBe('EWEBHOOKREFUSED');
    expect(otherReceived).toBe(before);
  });

  it('check every address a name resolves to, as the socket will use them', async () => {
    type Answer = { address: string; family: number }[];
    const lookupWith = (answer: Answer) =>
      new Promise<{ error: Error | null; addresses: unknown }>((resolve) => {
        const fakeResolve = ((_host: string, _options: unknown, callback: (e: null, a: Answer) => void) =>
          callback(null, answer)) as unknown as Parameters<typeof guardedLookup>[0];
        guardedLookup(fakeResolve)('rebind.example', { all: true }, (error, addresses) =>
          resolve({ error, addresses }),
        );
      });
    const publicOnly = await lookupWith([{ address: '93.184.216.34', family: 4 }]);
    expect(publicOnly.error).toBeNull();
    expect(publicOnly.addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
    const mixed = await lookupWith([
      { address: '93.184.216.34', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ]);
    expect(mixed.error?.message).toMatch(/169\.254\.169\.254, a link-local or cloud metadata address/);
  });

  it('see the IPv4 address inside IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms', () => {
    expect(blockedAddressReason('::ffff:127.0.0.1')).toBe('a loopback address');
    expect(blockedAddressReason('::127.0.0.1')).toBe('a loopback address');
    expect(blockedAddressReason('::7f00:1')).toBe('a loopback address');
    expect(blockedAddressReason('64:ff9b::a9fe:a9fe')).toBe('a link-local or cloud metadata address');
    expect(blockedAddressReason('2002:0a00:0001::')).toBe('a private network address');
    expect(blockedAddressReason('::1')).toBe('a loopback address');
    expect(blockedAddressReason('::ffff:93.184.216.34')).toBeNull();
  });
});
