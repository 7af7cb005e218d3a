import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/env';
import type { PayloadKey } from './payload-codec';

export interface CodecSecrets {
  keys: PayloadKey[];
  token: string;
}

/** Where the embedded stack's generated key and token live: beside the histories they protect. */
export const devSecretsFile = (dataDir: string): string => join(resolve(dataDir), 'codec-secrets.json');

interface DevSecretsFile {
  keyId: string;
  key: string;
  token: string;
}

/**
 * The payload keys and codec token the configuration names, or, when it names none (the embedded
 * defaults; config refuses that in production), the ones generated once under the data folder. Every
 * process of one `npm run dev` or test stack reads the same file, so they all read each other's
 * payloads; a new data folder starts with a new key, as it starts with an empty Temporal.
 */
export function codecSecrets(config: Pick<Config, 'codec' | 'dataDir'>): CodecSecrets {
  if (config.codec.keys && config.codec.token) return { keys: config.codec.keys, token: config.codec.token };
  const dev = readOrCreateDevSecrets(config.dataDir);
  return {
    keys: config.codec.keys ?? [{ id: dev.keyId, key: Buffer.from(dev.key, 'base64') }],
    token: config.codec.token ?? dev.token,
  };
}

function readOrCreateDevSecrets(dataDir: string): DevSecretsFile {
  const file = devSecretsFile(dataDir);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevSecretsFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // The API and the worker start together: write aside, then link into place, which fails if the
  // other won, so both end up with the one file that exists.
  mkdirSync(resolve(dataDir), { recursive: true });
  const secrets: DevSecretsFile = {
    keyId: `dev-${new Date().toISOString().slice(0, 10)}`,
    key: randomBytes(32).toString('base64'),
    token: randomBytes(24).toString('base64url'),
  };
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  return JSON.parse(readFileSync(file, 'utf8')) as DevSecretsFile;
}
