import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../config/env';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/search-attributes';

interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;

/** Variables without which the API or a worker would silently fall back to embedded defaults. */
const REQUIRED_IN_PRODUCTION = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_BUCKET',
  'CLAMD_HOST',
  'CLAMD_PORT',
];

describe('docker-compose.yml', () => {
  it('names every service of the production-like stack', () => {
    for (const name of ['postgres', 'temporal', 'temporal-ui', 'minio', 'clamav', 'api', 'worker', 'media-worker']) {
      expect(services[name], `service ${name}`).toBeDefined();
    }
  });

  it('gives the API and both worker kinds every variable the code needs, with valid values', () => {
    for (const name of ['api', 'worker', 'media-worker', 'migrate']) {
      const env = services[name]?.environment ?? {};
      for (const variable of REQUIRED_IN_PRODUCTION) expect(env[variable], `${name}: ${variable}`).toBeTruthy();
      // Interpolations such as ${X:-default} resolve to their default when unset.
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
      );
      expect(() => loadConfig(resolved)).not.toThrow();
    }
    expect(services.worker?.environment?.INTAKE_WORKER_KIND).toBe('general');
    expect(services['media-worker']?.environment?.INTAKE_WORKER_KIND).toBe('media');
  });

  it('uses no variable the code does not read', () => {
    for (const name of ['api', 'worker', 'media-worker']) {
      const unknown = Object.keys(services[name]?.environment ?? {}).filter(
        (v) => !CONFIG_VARIABLES.includes(v) && v !== 'UV_THREADPOOL_SIZE',
      );
      expect(unknown, name).toEqual([]);
    }
  });

  it('registers every custom search attribute the workflow upserts', () => {
    const setup = JSON.stringify(services['temporal-setup']?.command);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) expect(setup).toContain(`${name}=${type}`);
  });

  it('runs commands that exist in the repository', () => {
    for (const name of ['api', 'worker', 'media-worker', 'migrate']) {
      const command = services[name]?.command;
      const script = Array.isArray(command) ? command[1] : undefined;
      expect(script, name).toBeDefined();
      expect(() => readFileSync(script!), `${name}: ${script}`).not.toThrow();
    }
  });
});
