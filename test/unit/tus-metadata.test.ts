import { describe, expect, it } from 'vitest';
import { readTusMetadata } from '../../api/tus/tus-server';
import { ApiError, asApiError } from '../../api/errors';
import { ConfigError, loadConfig } from '../../config/env';
import { parseTusUploadId, tusUploadId } from '../../services/tus-upload';

const config = loadConfig({});
const MIB = 1024 * 1024;

describe('tus Upload-Metadata', () => {
  it('reads filename, filetype, schema, tags, retention and callbackUrl, sanitised like POST /v1/files', () => {
    expect(
      readTusMetadata(config, {
        filename: '../evil\u0000name.txt',
        filetype: 'Text/Plain; charset=utf-8',
        tags: 'a, b,a',
        retention: '7d',
        callbackUrl: 'https://example.com/done',
        schema: 'product.v2',
      }),
    ).toEqual({
      filename: '.._evilname.txt',
      declaredContentType: 'text/plain',
      tags: ['a', 'b'],
      retentionMs: 7 * 86_400_000,
      callbackUrl: 'https://example.com/done',
      schemaName: 'product.v2',
    });
  });

  it('takes the defaults when only a filename is given', () => {
    expect(readTusMetadata(config, { filename: 'a.txt' })).toMatchObject({
      tags: [],
      schemaName: null,
      callbackUrl: null,
      declaredContentType: null,
      retentionMs: config.retention.defaultMs,
    });
  });

  it('refuses a missing or blank filename, a bad retention and a non-http callback with a 400', () => {
    const nameless: (Record<string, string | null> | undefined)[] = [
      undefined,
      {},
      { filename: null },
      { filename: '  ' },
    ];
    for (const metadata of nameless) {
      expect(() => readTusMetadata(config, metadata)).toThrow(/filename is required/);
    }
    const refusal = (metadata: Record<string, string>) => {
      try {
        readTusMetadata(config, metadata);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const bads: Record<string, string>[] = [
      { retention: 'forever' },
      { callbackUrl: 'ftp://example.com' },
      { tags: 'x'.repeat(65) },
    ];
    for (const bad of bads) {
      // The field parsers throw the services' refusal; the API answers it as its ApiError.
      const error = asApiError(refusal({ filename: 'a.txt', ...bad }));
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(400);
    }
  });
});

describe('tus upload ids', () => {
  it('embed the tenant and the file id, and nothing else parses', () => {
    const id = tusUploadId('acme', 'f_abcdefghijklmnopqrstuvwx');
    expect(id).toBe('tus/acme/f_abcdefghijklmnopqrstuvwx');
    expect(parseTusUploadId(id)).toEqual({ tenantId: 'acme', fileId: 'f_abcdefghijklmnopqrstuvwx' });
    for (const other of ['tus/acme/../x', 'incoming/acme/f_abcdefghijklmnopqrstuvwx', 'tus/acme/tus', 'tus/a/b/c']) {
      expect(parseTusUploadId(other)).toBeNull();
    }
  });
});

describe('tus settings', () => {
  it('default to a 1-day expiry and 8 MiB parts, and refuse parts under 5 MiB', () => {
    expect(config.tus).toEqual({ expiryMs: 86_400_000, partBytes: 8 * MIB });
    expect(loadConfig({ INTAKE_TUS_EXPIRY: '2h', INTAKE_TUS_PART_SIZE: String(5 * MIB) }).tus).toEqual({
      expiryMs: 7_200_000,
      partBytes: 5 * MIB,
    });
    expect(() => loadConfig({ INTAKE_TUS_PART_SIZE: String(MIB) })).toThrow(ConfigError);
    expect(() => loadConfig({ INTAKE_TUS_PART_SIZE: String(MIB) })).toThrow(
      /INTAKE_TUS_PART_SIZE: must be at least 5 MiB/,
    );
    expect(() => loadConfig({ INTAKE_TUS_EXPIRY: '10s' })).toThrow(/INTAKE_TUS_EXPIRY/);
  });
});
