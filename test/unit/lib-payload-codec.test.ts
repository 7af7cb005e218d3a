import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  UnknownPayloadKeyError,
} from '../../lib/payload-codec';

const key = (id: string) => ({ id, key: randomBytes(32) });
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const upload = { filename: 'holiday-in-lisbon.jpg', callbackUrl: 'https://hooks.acme.example/intake', tags: ['x'] };
const plain = (): Payload => defaultPayloadConverter.toPayload(upload);

describe('AES-GCM payload codec', () => {
  it('round-trips a payload, and its encrypted form shows neither the data nor its JSON encoding', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const [encrypted] = await codec.encode([plain()]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Buffer.from(encrypted!.data!).toString('latin1')).not.toContain('lisbon');
    expect(Buffer.from(encrypted!.data!).toString('latin1')).not.toContain('json/plain');
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(upload);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
  });

  it('uses a fresh nonce for every payload, so equal inputs never look equal', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
    expect(Buffer.from(a!.data!.subarray(0, 12)).equals(Buffer.from(b!.data!.subarray(0, 12)))).toBe(false);
  });

  it('rotates by key id: the new first key encrypts, the old one still decrypts what it wrote', async () => {
    const old = key('2026-01');
    const next = key('2026-12');
    const [written] = await new AesGcmPayloadCodec([old]).encode([plain()]);
    const rotated = new AesGcmPayloadCodec([next, old]);
    expect(rotated.currentKeyId).toBe('2026-12');
    const [decoded] = await rotated.decode([written!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(upload);
    const [fresh] = await rotated.encode([plain()]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('2026-12');
  });

  it('refuses a payload under a key id it was not given, naming the id and the known ones', async () => {
    const [written] = await new AesGcmPayloadCodec([key('retired')]).encode([plain()]);
    const codec = new AesGcmPayloadCodec([key('current')]);
    await expect(codec.decode([written!])).rejects.toThrow(UnknownPayloadKeyError);
    await expect(codec.decode([written!])).rejects.toThrow(/"retired".*current/);
  });

  it('refuses tampered ciphertext, a truncated payload, and a payload relabelled to another key id', async () => {
    const k1 = key('k1');
    const k2 = { id: 'k2', key: k1.key };
    const codec = new AesGcmPayloadCodec([k1, k2]);
    const [written] = await codec.encode([plain()]);
    const flipped = Uint8Array.from(written!.data!);
    flipped[20] = flipped[20]! ^ 0x01;
    await expect(codec.decode([{ ...written!, data: flipped }])).rejects.toThrow(PayloadDecryptionError);
    await expect(codec.decode([{ ...written!, data: written!.data!.subarray(0, 20) }])).rejects.toThrow(
      PayloadDecryptionError,
    );
    // Same key bytes under another id: the id is authenticated data, so the relabelling is caught.
    const relabelled = { ...written!, metadata: { ...written!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(PayloadDecryptionError);
  });

  it('passes payloads that are not encrypted through decode untouched, so old histories still read', async () => {
    const codec = new AesGcmPayloadCodec([key('k1')]);
    const payload = plain();
    const empty: Payload = { metadata: { encoding: Buffer.from('binary/null') } };
    expect(await codec.decode([payload, empty])).toEqual([payload, empty]);
  });

  it('accepts only 32-byte keys', () => {
    expect(() => new AesGcmPayloadCodec([])).toThrow(/at least one key/);
    expect(() => new AesGcmPayloadCodec([{ id: 'short', key: randomBytes(16) }])).toThrow(/"short" must be 32 bytes/);
  });
});
