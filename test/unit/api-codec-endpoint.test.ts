import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createCodecApp } from '../../api/codec-endpoint';
import { AesGcmPayloadCodec } from '../../lib/payload-codec';

const TOKEN = 'codec-token-for-the-unit-tests-0123';
const UI = 'http://localhost:8233';
const codec = new AesGcmPayloadCodec([{ id: 'k1', key: randomBytes(32) }]);
const app = createCodecApp({
  codec,
  token: TOKEN,
  allowedOrigins: [UI],
  namespace: 'default',
  log: pino({ level: 'silent' }),
});

const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('base64');
async function encryptedJson(value: unknown) {
  const [payload] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  return {
    metadata: Object.fromEntries(Object.entries(payload!.metadata!).map(([k, v]) => [k, b64(v)])),
    data: b64(payload!.data),
  };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('codec endpoint', () => {
  it('decodes for the Web UI with the token in the path, answering with CORS for the UI origin', async () => {
    const payloads = [await encryptedJson({ filename: 'secret-plans.pdf' })];
    const res = await post(`/${TOKEN}/decode`, { payloads }, { Origin: UI, 'X-Namespace': 'default' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString())).toEqual({
      filename: 'secret-plans.pdf',
    });
  });

  it('decodes and encodes for the CLI with the token as a bearer header', async () => {
    // As `temporal workflow show --codec-endpoint … --codec-auth "Bearer …"` sends it.
    const auth = { Authorization: `Bearer ${TOKEN}`, 'X-Namespace': '' };
    const plain = { metadata: { encoding: b64(Buffer.from('json/plain')) }, data: b64(Buffer.from('"x"')) };
    const encoded = (await (await post('/encode', { payloads: [plain] }, auth)).json()) as { payloads: unknown[] };
    expect(JSON.stringify(encoded)).toContain(b64(Buffer.from('binary/encrypted')));
    const decoded = await post('/decode', encoded, auth);
    expect(await decoded.json()).toEqual({ payloads: [plain] });
  });

  it('answers a preflight from the UI origin and refuses one from any other', async () => {
    const preflight = (origin: string) =>
      app.request(`/${TOKEN}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace',
        },
      });
    const ok = await preflight(UI);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-namespace');
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is no open oracle: no token, a wrong token, another origin or another namespace is refused', async () => {
    const payloads = [await encryptedJson({ callbackUrl: 'https://hooks.acme.example/x' })];
    const cases: [string, Record<string, string>, number, string][] = [
      ['/decode', {}, 401, 'unauthorized'],
      ['/decode', { Authorization: 'Bearer not-the-token' }, 401, 'unauthorized'],
      ['/not-the-token/decode', { Origin: UI }, 401, 'unauthorized'],
      [`/${TOKEN}/decode`, { Origin: 'https://evil.example' }, 403, 'codec_forbidden'],
      [`/${TOKEN}/decode`, { 'X-Namespace': 'other' }, 403, 'codec_forbidden'],
    ];
    for (const [path, headers, status, code] of cases) {
      const res = await post(path, { payloads }, headers);
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(status);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code, requestId: expect.any(String) } });
      expect(text).not.toContain('hooks.acme.example');
    }
  });

  it('answers 400 in the shared shape for a malformed body or a payload it cannot decrypt', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const notJson = await app.request('/decode', { method: 'POST', headers: auth, body: 'payloads' });
    expect(notJson.status).toBe(400);
    expect((await post('/decode', { payloads: 'x' }, auth)).status).toBe(400);
    const foreign = await new AesGcmPayloadCodec([{ id: 'k9', key: randomBytes(32) }]).encode([
      defaultPayloadConverter.toPayload('x'),
    ]);
    const res = await post(
      '/decode',
      {
        payloads: [
          {
            metadata: { encoding: b64(foreign[0]!.metadata!.encoding), 'encryption-key-id': b64(Buffer.from('k9')) },
            data: b64(foreign[0]!.data),
          },
        ],
      },
      auth,
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringContaining('"k9"') },
    });
  });
});
