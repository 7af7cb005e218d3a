import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

/** Names that resolve from /etc/hosts, never through a DNS server. */
const LOOPBACK_NAMES = new Set(['localhost', 'localhost.', '127.0.0.1', '::1']);

const isLoopbackAddress = (address: string): boolean =>
  /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);

function refusal(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(
    `getaddrinfo ENOTFOUND ${hostname} (refused: a fuzz run reaches loopback only)`,
  );
  error.code = 'ENOTFOUND';
  error.syscall = 'getaddrinfo';
  return error;
}

/**
 * Makes this process resolve loopback names only, and connect to loopback addresses only. The workers deliver webhooks to whatever the fuzzer
 * managed to register; even with every URL pinned to a local receiver, a name that slipped through
 * must not become a query to the machine's DNS server, let alone a connection. Every `lookup` (the
 * callback and the promise form, which the webhook guard and its sockets use) refuses anything else
 * as ENOTFOUND, so a delivery fails and is retried like any unreachable host; a socket aimed at an
 * address literal outside 127.0.0.0/8 and ::1 is destroyed before it connects.
 */
export function loopbackOnlyNetwork(): void {
  const lookup = dns.lookup;
  const promisesLookup = dns.promises.lookup;
  dns.lookup = ((hostname: string, ...rest: unknown[]) => {
    const callback = rest.at(-1) as (error: NodeJS.ErrnoException | null) => void;
    if (!LOOPBACK_NAMES.has(hostname.toLowerCase())) {
      process.nextTick(callback, refusal(hostname));
      return;
    }
    (lookup as (...args: unknown[]) => void)(hostname, ...rest);
  }) as typeof dns.lookup;
  dns.promises.lookup = ((hostname: string, options?: unknown) =>
    LOOPBACK_NAMES.has(hostname.toLowerCase())
      ? (promisesLookup as (host: string, options?: unknown) => Promise<unknown>)(hostname, options)
      : Promise.reject(refusal(hostname))) as typeof dns.promises.lookup;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    // net.connect() passes its normalized arguments as one array; a direct call passes (options) or (port, host).
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const host =
      typeof first === 'object' && first !== null
        ? (first as { host?: unknown }).host
        : typeof args[1] === 'string'
          ? args[1]
          : undefined;
    if (typeof host === 'string' && net.isIP(host) !== 0 && !isLoopbackAddress(host)) {
      process.nextTick(() => this.destroy(refusal(host)));
      return this;
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
  // ES module imports of node:dns (`import { lookup } from 'node:dns'`) see the new functions too.
  syncBuiltinESMExports();
}
