import { describe, expect, it } from 'vitest';
import { dispositionFor, singleByteRange } from '../../api/serve-object';
import { ConfigError, loadConfig } from '../../config/env';
import { MAX_PARTS, planParts } from '../../lib/presigned-uploads';
import { SHARE_TOKEN_PATTERN, hashShareToken, newShareToken } from '../../lib/share-tokens';

const MIB = 1024 * 1024;

describe('which Range headers are handed to S3', () => {
  it('passes one byte range in any of its three forms', () => {
    expect(singleByteRange('bytes=0-99')).toBe('bytes=0-99');
    expect(singleByteRange('bytes=100-')).toBe('bytes=100-');
    expect(singleByteRange(' bytes=-500 ')).toBe('bytes=-500');
  });

  it('ignores several ranges, other units, reversed or empty ranges and garbage: the whole file is sent', () => {
    for (const header of [
      undefined,
      '',
      'bytes=0-1,4-5',
      'items=0-1',
      'bytes=9-3',
      'bytes=-',
      'bytes=-0',
      'bytes=a-b',
    ]) {
      expect(singleByteRange(header), String(header)).toBeUndefined();
    }
  });
});

describe('inline downloads', () => {
  it('are granted to the accepted image types only; everything else stays an attachment', () => {
    expect(dispositionFor('image/jpeg', 'inline')).toBe('inline');
    expect(dispositionFor('image/webp', 'inline')).toBe('inline');
    expect(dispositionFor('image/svg+xml', 'inline')).toBe('attachment');
    expect(dispositionFor('application/pdf', 'inline')).toBe('attachment');
    expect(dispositionFor('text/plain', 'inline')).toBe('attachment');
    expect(dispositionFor('image/jpeg', undefined)).toBe('attachment');
  });
});

describe('multipart plans', () => {
  it('cover the size exactly in parts of the configured size, the last one shorter', () => {
    const parts = planParts(11 * MIB, 5 * MIB);
    expect(parts).toEqual([
      { partNumber: 1, size: 5 * MIB },
      { partNumber: 2, size: 5 * MIB },
      { partNumber: 3, size: MIB },
    ]);
  });

  it('grow their parts rather than exceed the part limit', () => {
    const size = 20_000 * MIB + 7;
    const parts = planParts(size, 5 * MIB);
    expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
    expect(parts.reduce((sum, part) => sum + part.size, 0)).toBe(size);
    expect(parts[0]!.size % MIB).toBe(0);
  });
});

describe('share tokens', () => {
  it('carry 256 random bits and are stored only as their sha256', () => {
    const { token, tokenHash } = newShareToken();
    expect(token).toMatch(SHARE_TOKEN_PATTERN);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(tokenHash).toBe(hashShareToken(token));
    expect(tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(newShareToken().token).not.toBe(token);
  });
});

describe('direct upload and share settings', () => {
  it('default to 64 MiB single PUTs, 16 MiB parts, an hour to complete, 30-day links and the console origin', () => {
    const config = loadConfig({ INTAKE_PUBLIC_URL: 'https://intake.example.com' });
    expect(config.directUploads).toEqual({
      thresholdBytes: 64 * MIB,
      partBytes: 16 * MIB,
      expiryMs: 3_600_000,
      browserOrigins: ['https://intake.example.com'],
    });
    expect(config.shares.maxExpiryMs).toBe(30 * 86_400_000);
    expect(loadConfig({}).directUploads.browserOrigins).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000']);
  });

  it('refuse parts below S3 minimum and an expiry past what SigV4 can sign, naming the variable', () => {
    expect(() => loadConfig({ INTAKE_DIRECT_UPLOAD_PART_SIZE: String(MIB) })).toThrow(
      /INTAKE_DIRECT_UPLOAD_PART_SIZE: must be at least 5 MiB/,
    );
    expect(() => loadConfig({ INTAKE_DIRECT_UPLOAD_EXPIRY: '8d' })).toThrow(ConfigError);
    expect(() => loadConfig({ INTAKE_UPLOAD_ORIGINS: 'not a url' })).toThrow(/INTAKE_UPLOAD_ORIGINS/);
  });
});
