import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, generateWebhookSecret, hashApiKey } from '../../prisma/tenants';

describe('API keys and webhook secrets', () => {
  it('an API key is stored as the hex sha256 of the key, the same every time', () => {
    expect(hashApiKey('ik_example')).toBe(createHash('sha256').update('ik_example').digest('hex'));
    expect(hashApiKey('ik_example')).toBe(hashApiKey('ik_example'));
    expect(hashApiKey('ik_example')).not.toBe(hashApiKey('ik_examplf'));
  });

  it('generated API keys are ik_ plus 32 base62 characters and never repeat', () => {
    const keys = Array.from({ length: 500 }, generateApiKey);
    for (const key of keys) expect(key).toMatch(/^ik_[0-9A-Za-z]{32}$/);
    expect(new Set(keys).size).toBe(keys.length);
    // Every base62 character turns up: the alphabet is used in full, not a biased subset.
    expect(new Set(keys.map((key) => key.slice(3)).join('')).size).toBeGreaterThanOrEqual(62);
  });

  it('a webhook secret is whsec_ plus the base64 of 24 random bytes (Standard Webhooks)', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(24);
    expect(generateWebhookSecret()).not.toBe(secret);
  });
});
