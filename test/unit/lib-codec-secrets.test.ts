import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { codecSecrets, devSecretsFile } from '../../lib/codec-secrets';

const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-codec-secrets-'));
  dirs.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('codec secrets', () => {
  it('generates one development key and token per data folder, readable by every process using it', () => {
    const dir = dataDir();
    const first = codecSecrets(loadConfig({ INTAKE_DATA_DIR: dir }));
    expect(first.keys).toHaveLength(1);
    expect(first.keys[0]!.key).toHaveLength(32);
    expect(first.token.length).toBeGreaterThanOrEqual(24);
    // Another process (the worker beside the API) gets the same, not a second key.
    expect(codecSecrets(loadConfig({ INTAKE_DATA_DIR: dir }))).toEqual(first);
    expect(statSync(devSecretsFile(dir)).mode & 0o077).toBe(0);
    const other = codecSecrets(loadConfig({ INTAKE_DATA_DIR: dataDir() }));
    expect(Buffer.from(other.keys[0]!.key).equals(Buffer.from(first.keys[0]!.key))).toBe(false);
  });

  it('uses what the configuration names, and generates nothing then', () => {
    const dir = dataDir();
    const key = Buffer.alloc(32, 7);
    const secrets = codecSecrets(
      loadConfig({
        INTAKE_DATA_DIR: dir,
        INTAKE_PAYLOAD_KEYS: `prod-1:${key.toString('base64')}`,
        INTAKE_CODEC_TOKEN: 'a-codec-token-of-24-chars-or-more',
      }),
    );
    expect(secrets.keys.map((k) => k.id)).toEqual(['prod-1']);
    expect(secrets.token).toBe('a-codec-token-of-24-chars-or-more');
    expect(() => statSync(devSecretsFile(dir))).toThrow(/ENOENT/);
  });
});
