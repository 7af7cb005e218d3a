import { lookup as lookupCallback, type LookupAddress, type LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Server-side request forgery guard for webhook targets: a tenant must not be able to make Intake call
 * its own infrastructure (loopback, private networks, cloud metadata at 169.254.169.254, …).
 */

const RANGES_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'a private network address'],
  ['100.64.0.0', 10, 'a carrier-grade NAT address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local or cloud metadata address'],
  ['172.16.0.0', 12, 'a private network address'],
  ['192.0.0.0', 24, 'an IETF protocol address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.168.0.0', 16, 'a private network address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];
const RANGES_V6: [string, number, string][] = [
  ['::', 128, 'an unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['100::', 64, 'a discard-only address'],
  ['2001:db8::', 32, 'a documentation address'],
  ['fc00::', 7, 'a unique-local (private) address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a site-local address'],
  ['ff00::', 8, 'a multicast address'],
];

const lists = [
  ...RANGES_V4.map(([net, prefix, why]) => ({ net, prefix, why, family: 'ipv4' as const })),
  ...RANGES_V6.map(([net, prefix, why]) => ({ net, prefix, why, family: 'ipv6' as const })),
].map((range) => {
  const list = new BlockList();
  list.addSubnet(range.net, range.prefix, range.family);
  return { list, why: range.why, family: range.family };
});

/**
 * The IPv4 address an IPv6 address carries: mapped ::ffff:a.b.c.d, the deprecated IPv4-compatible
 * ::a.b.c.d, NAT64 64:ff9b::/96 and 6to4 2002::/16.
 */
function embeddedIpv4(ip: string): string | null {
  const groups = expandIpv6(ip);
  if (!groups) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return v4(groups[6]!, groups[7]!);
  // IPv4-compatible; :: and ::1 (the group 6 is 0) are IPv6's own unspecified and loopback addresses.
  if (zeros(0, 6) && groups[6] !== 0) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  return null;
}

/** Eight 16-bit groups of an IPv6 address (accepts a dotted IPv4 tail), or null when malformed. */
function expandIpv6(ip: string): number[] | null {
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = dotted[1]!.split('.').map(Number);
    text =
      text.slice(0, -dotted[1]!.length) +
      `${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const [head, tail, extra] = text.split('::');
  if (extra !== undefined) return null;
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return null;
  const groups = [...left, ...new Array<number>(tail === undefined ? 0 : missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * Why an address must not receive webhooks ("a loopback address", …), or null when it is public.
 * Anything that is not a well-formed IP address is refused too.
 */
export function blockedAddressReason(ip: string): string | null {
  const family = isIP(ip.replace(/%.*$/, ''));
  if (family === 0) return 'not a valid IP address';
  if (family === 6) {
    const inner = embeddedIpv4(ip);
    if (inner) return blockedAddressReason(inner);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const address = ip.replace(/%.*$/, '');
  for (const entry of lists) if (entry.family === type && entry.list.check(address, type)) return entry.why;
  return null;
}

/**
 * An exception to the guard (INTAKE_WEBHOOK_ALLOW_TARGETS): one port on an address or network that
 * would otherwise be refused, e.g. the test receiver on 127.0.0.1:4555. Only addresses, never names:
 * a name is what DNS rebinding changes, an address is what the socket connects to.
 */
export interface AllowedTarget {
  /** The entry as written, for messages. */
  entry: string;
  list: BlockList;
  port: number;
}

/** What the guard lets through: every private address (development only), or just the allowed targets. */
export interface WebhookGuardPolicy {
  allowPrivate: boolean;
  allowTargets: readonly AllowedTarget[];
}

/**
 * Reads one allow-list entry: `ip:port`, `cidr:port`, IPv6 in brackets (`[::1]:8080`, `[fd00::/8]:443`).
 * Throws a sentence saying what is wrong.
 */
export function parseAllowedTarget(entry: string): AllowedTarget {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry.trim());
  const expected = `"${entry}" is not ip:port or cidr:port (IPv6 in brackets, e.g. 127.0.0.1:4555, [::1]:4555, 10.0.0.0/8:443)`;
  if (!match) throw new Error(expected);
  const parts = (match[1] ?? match[2]!).split('/');
  if (parts.length > 2) throw new Error(expected);
  const [address, prefixText] = parts;
  const port = Number(match[3]);
  const family = isIP(address ?? '');
  if (family === 0 || port < 1 || port > 65535) throw new Error(expected);
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? '0') || prefix > bits) throw new Error(expected);
  const list = new BlockList();
  list.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return { entry: entry.trim(), list, port };
}

/** Whether an allow-list entry covers this address and port (an IPv4-mapped IPv6 address counts as its IPv4). */
export function isAllowedTarget(address: string, port: number, allowed: readonly AllowedTarget[]): boolean {
  if (allowed.length === 0) return false;
  const plain = address.replace(/%.*$/, '');
  const family = isIP(plain);
  if (family === 0) return false;
  const inner = family === 6 ? embeddedIpv4(plain) : null;
  const [ip, type] = inner ? [inner, 'ipv4' as const] : [plain, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  return allowed.some((target) => target.port === port && target.list.check(ip, type));
}

/** The port a URL connects to: its own, or its scheme's. */
export function urlPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * Why the guard refuses to connect to this address and port, or null: a public address, an allowed
 * target, or any address when private targets are allowed.
 */
export function addressRefusal(address: string, port: number, policy: WebhookGuardPolicy): string | null {
  if (policy.allowPrivate) return null;
  const why = blockedAddressReason(address);
  if (!why || isAllowedTarget(address, port, policy.allowTargets)) return null;
  return why;
}

export type ResolveHost = (hostname: string) => Promise<string[]>;

const resolveWithDns: ResolveHost = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Checks a webhook URL before it is called. Returns null when it may be called, or a sentence saying
 * why not. Every address the name resolves to must be public (or an allowed target on this port), so a
 * name with one public and one private record cannot be used to reach the private one.
 */
export async function webhookTargetRefusal(
  url: string,
  options: { allowPrivate: boolean; allowTargets?: readonly AllowedTarget[]; resolve?: ResolveHost },
): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `The webhook URL "${url}" is not a valid URL.`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `The webhook URL must use http or https, not ${parsed.protocol.replace(':', '')}.`;
  }
  if (parsed.username || parsed.password) return 'The webhook URL must not contain credentials.';
  if (options.allowPrivate) return null;
  const policy = { allowPrivate: false, allowTargets: options.allowTargets ?? [] };
  const port = urlPort(parsed);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await (options.resolve ?? resolveWithDns)(host);
  if (addresses.length === 0) return `The webhook host ${host} does not resolve to any address.`;
  for (const address of addresses) {
    const why = addressRefusal(address, port, policy);
    if (why) {
      return `The webhook host ${host} resolves to ${address}, ${why}; private targets are refused unless listed in INTAKE_WEBHOOK_ALLOW_TARGETS.`;
    }
  }
  return null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for the sockets that deliver webhooks: the name is resolved once, every address checked,
 * and the socket connects to the addresses checked. The check before the request (webhookTargetRefusal)
 * alone would let a name re-pointed in between (DNS rebinding) reach a private address. `port` is the
 * port the socket connects to, for the allow-list (a lookup is not told it).
 */
export function guardedLookup(
  resolve: typeof lookupCallback = lookupCallback,
  allowed: { port: number; allowTargets: readonly AllowedTarget[] } = { port: 0, allowTargets: [] },
) {
  const policy = { allowPrivate: false, allowTargets: allowed.allowTargets };
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      for (const { address } of list) {
        const why = addressRefusal(address, allowed.port, policy);
        if (why) {
          const refused: NodeJS.ErrnoException = new Error(
            `The webhook host ${hostname} resolves to ${address}, ${why}; refused at connect time.`,
          );
          refused.code = 'EWEBHOOKREFUSED';
          return callback(refused, []);
        }
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}
