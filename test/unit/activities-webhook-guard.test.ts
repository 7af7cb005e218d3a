import { describe, expect, it } from 'vitest';
import { blockedAddressReason, parseAllowedTarget, webhookTargetRefusal } from '../../lib/webhook-guard';

describe('webhook address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:0a00:0001::1', 'private'],
  ])('refuses %s as %s', (ip, kind) => {
    expect(blockedAddressReason(ip)).toContain(kind);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('allows the public address %s', (ip) => {
    expect(blockedAddressReason(ip)).toBeNull();
  });

  it('refuses strings that are not IP addresses', () => {
    expect(blockedAddressReason('localhost')).toBe('not a valid IP address');
  });
});

describe('webhook target refusal', () => {
  const resolveTo = (addresses: string[]) => async () => addresses;

  it('refuses a name with any private address among its records', async () => {
    const refusal = await webhookTargetRefusal('https://hooks.example.com/x', {
      allowPrivate: false,
      resolve: resolveTo(['8.8.8.8', '10.0.0.5']),
    });
    expect(refusal).toMatch(/resolves to 10\.0\.0\.5, a private network address/);
  });

  it('allows a name whose records are all public', async () => {
    const refusal = await webhookTargetRefusal('https://hooks.example.com/x', {
      allowPrivate: false,
      resolve: resolveTo(['8.8.8.8']),
    });
    expect(refusal).toBeNull();
  });

  it('checks IP literals, including bracketed IPv6, without resolving', async () => {
    const resolve = async (): Promise<string[]> => {
      throw new Error('must not resolve');
    };
    expect(await webhookTargetRefusal('http://[::1]:8080/', { allowPrivate: false, resolve })).toMatch(/loopback/);
    expect(await webhookTargetRefusal('http://127.0.0.1/', { allowPrivate: false, resolve })).toMatch(/loopback/);
  });

  it('allows private targets when INTAKE_WEBHOOK_ALLOW_PRIVATE is on', async () => {
    expect(await webhookTargetRefusal('http://127.0.0.1:9/', { allowPrivate: true })).toBeNull();
  });

  it('refuses schemes other than http and https, and embedded credentials', async () => {
    expect(await webhookTargetRefusal('file:///etc/passwd', { allowPrivate: true })).toMatch(/http or https/);
    expect(await webhookTargetRefusal('https://u:p@example.com/', { allowPrivate: true })).toMatch(/credentials/);
  });
});

describe('webhook allow-list (INTAKE_WEBHOOK_ALLOW_TARGETS)', () => {
  const allowTargets = ['127.0.0.1:4555', '10.20.0.0/16:443', '[fd00::/8]:8443'].map(parseAllowedTarget);
  const check = (url: string, addresses?: string[]) =>
    webhookTargetRefusal(url, {
      allowPrivate: false,
      allowTargets,
      resolve: async () => addresses ?? [],
    });

  it('lets through exactly the listed address (or network) and port', async () => {
    expect(await check('http://127.0.0.1:4555/hook')).toBeNull();
    expect(await check('http://[::ffff:127.0.0.1]:4555/hook')).toBeNull();
    expect(await check('https://10.20.3.4/hook')).toBeNull();
    expect(await check('https://[fd12::1]:8443/hook')).toBeNull();
    expect(await check('http://receiver.test:4555/hook', ['127.0.0.1'])).toBeNull();
  });

  it('refuses every other port, address and the rest of the guard as before', async () => {
    expect(await check('http://127.0.0.1:4556/hook')).toMatch(/loopback address; .*INTAKE_WEBHOOK_ALLOW_TARGETS/);
    expect(await check('http://127.0.0.1/hook')).toMatch(/loopback/);
    expect(await check('http://127.0.0.2:4555/hook')).toMatch(/loopback/);
    expect(await check('http://10.20.3.4/hook')).toMatch(/private/);
    expect(await check('http://169.254.169.254:4555/latest')).toMatch(/metadata/);
    // One record outside the list is enough to refuse the name.
    expect(await check('http://receiver.test:4555/hook', ['127.0.0.1', '10.0.0.5'])).toMatch(/10\.0\.0\.5/);
  });
});
