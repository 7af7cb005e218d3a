import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../config/env';
import { SEARCH_ATTRIBUTE_TYPES } from '../../common/search-attributes';

interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  restart?: string;
  healthcheck?: { test?: string[] | string };
}
const composeText = readFileSync('docker-compose.yml', 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** What `cp .env.example .env` gives compose. */
const envExample = Object.fromEntries(
  readFileSync('.env.example', 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z0-9_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

/** Compose's interpolation: ${X}, ${X:-default} and ${X:?error}, from .env.example. */
function interpolate(value: string, env: Record<string, string> = envExample): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, kind?: string, rest?: string) => {
    const set = env[name];
    if (set !== undefined && set !== '') return set;
    if (kind === '-') return rest ?? '';
    throw new Error(`compose would stop: ${name} is unset (${rest ?? 'no default'})`);
  });
}

const commandText = (service: Service | undefined): string =>
  [service?.entrypoint, service?.command].flat().filter(Boolean).join(' ');

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
    for (const name of [
      'postgres',
      'temporal',
      'temporal-ui',
      'minio',
      'clamav',
      'kafka',
      'redis',
      'api',
      'worker',
      'media-worker',
      'ingest-worker',
    ]) {
      expect(services[name], `service ${name}`).toBeDefined();
    }
  });

  it('gives the API and both worker kinds every variable the code needs, with valid values', () => {
    for (const name of ['api', 'worker', 'media-worker', 'ingest-worker', 'migrate']) {
      const env = services[name]?.environment ?? {};
      for (const variable of REQUIRED_IN_PRODUCTION) expect(env[variable], `${name}: ${variable}`).toBeTruthy();
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v))]));
      expect(() => loadConfig(resolved)).not.toThrow();
    }
    expect(services.worker?.environment?.INTAKE_WORKER_KIND).toBe('general');
    expect(services['media-worker']?.environment?.INTAKE_WORKER_KIND).toBe('media');
    expect(services['ingest-worker']?.environment?.INTAKE_WORKER_KIND).toBe('ingest');
    for (const name of ['api', 'worker', 'media-worker', 'ingest-worker']) {
      expect(services[name]?.environment?.KAFKA_BROKERS, name).toBe('kafka:9092');
    }
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

  it('pins every image to a release, never a floating tag', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) continue;
      // A full release: x.y.z (PostgreSQL's releases are x.y), MinIO's RELEASE.<time>; never latest or x.y.
      const release = service.image?.startsWith('postgres:') ? /\d+\.\d+/ : /\d+\.\d+\.\d+/;
      expect(service.image, name).toMatch(
        new RegExp(`^[a-z0-9/._-]+:(v?${release.source}(-[a-z0-9.-]+)?|RELEASE\\.[0-9TZ-]+)$`),
      );
    }
    const node = readFileSync('.node-version', 'utf8').trim();
    const from = [...readFileSync('Dockerfile', 'utf8').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(from.length).toBeGreaterThan(0);
    for (const image of from) expect(image).toBe(`node:${node}-bookworm-slim`);
  });

  it('hides no failure of a step that must succeed', () => {
    expect(composeText).not.toMatch(/\|\|\s*true/);
    for (const name of ['temporal-setup', 'minio-setup', 'clamav']) {
      expect(commandText(services[name]), name).toMatch(/^sh -c set -eu;/);
    }
  });

  it('keeps the upload limit and clamd stream limit equal by construction', () => {
    for (const settings of [{}, { INTAKE_MAX_UPLOAD_BYTES: '734003200' }] as Record<string, string>[]) {
      const env = { ...envExample, ...settings };
      for (const name of ['api', 'worker', 'media-worker']) {
        const vars = services[name]?.environment ?? {};
        const upload = interpolate(vars.INTAKE_MAX_UPLOAD_BYTES ?? '', env);
        expect(interpolate(vars.CLAMD_MAX_STREAM_BYTES ?? '', env), name).toBe(upload);
        expect(interpolate(services.clamav?.environment?.INTAKE_MAX_UPLOAD_BYTES ?? '', env)).toBe(upload);
      }
    }
    expect(commandText(services.clamav)).toMatch(/StreamMaxLength MaxFileSize MaxScanSize/);
    expect(commandText(services.clamav)).toContain('$$INTAKE_MAX_UPLOAD_BYTES" >> /etc/clamav/clamd.conf');
  });

  it('checks readiness, restarts the apps and publishes only the API beyond loopback', () => {
    expect(JSON.stringify(services.api?.healthcheck?.test)).toContain('/readyz');
    for (const name of ['api', 'worker', 'media-worker', 'postgres', 'temporal', 'minio', 'clamav']) {
      expect(services[name]?.restart, name).toBe('unless-stopped');
    }
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        if (name === 'api') continue;
        expect(port, name).toMatch(/^127\.0\.0\.1:/);
      }
    }
  });

  it('points the Web UI at the API codec endpoint, published on loopback only, with keys and token from .env', () => {
    const ui = services['temporal-ui']?.environment ?? {};
    expect(interpolate(String(ui.TEMPORAL_CODEC_ENDPOINT))).toBe(
      `http://localhost:8234/${envExample.INTAKE_CODEC_TOKEN}`,
    );
    expect(services.api?.ports).toContain('127.0.0.1:8234:8234');
    expect(services.api?.environment?.INTAKE_CODEC_HOST).toBe('0.0.0.0');
    for (const variable of ['INTAKE_PAYLOAD_KEYS', 'INTAKE_CODEC_TOKEN']) {
      expect(envExample[variable], `.env.example documents ${variable}`).toBeTruthy();
      expect(composeText).toContain(`\${${variable}:?`);
    }
    const api = Object.fromEntries(
      Object.entries(services.api?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
    );
    const config = loadConfig(api);
    expect(config.codec.allowedOrigins).toContain('http://localhost:8233');
    expect(config.codec.port).toBe(8234);
  });

  it('reads every password and the first API key from .env, refusing to start without them', () => {
    for (const variable of [
      'POSTGRES_PASSWORD',
      'TEMPORAL_DB_PASSWORD',
      'S3_SECRET_ACCESS_KEY',
      'MINIO_KMS_SECRET_KEY',
      'INTAKE_API_KEYS',
    ]) {
      expect(envExample[variable], `.env.example documents ${variable}`).toBeTruthy();
      expect(composeText).toContain(`\${${variable}:?`);
      expect(() => interpolate(`\${${variable}:?missing}`, {})).toThrow(/compose would stop/);
    }
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!/PASSWORD|PWD|SECRET|API_KEYS/.test(key)) continue;
        expect(String(value), `${name}: ${key}`).toMatch(/^\$\{[A-Z0-9_]+:\?/);
      }
    }
    expect(services.api?.environment?.DATABASE_URL).toContain('${POSTGRES_PASSWORD:?');
    expect(readFileSync('infra/compose/postgres-init.sh', 'utf8')).toContain('$TEMPORAL_DB_PASSWORD');
  });

  it('gives MinIO a KMS key from .env and has the apps encrypt every object with it', () => {
    const kms = interpolate(services.minio?.environment?.MINIO_KMS_SECRET_KEY ?? '');
    const match = /^([a-z0-9_-]+):([A-Za-z0-9+/=]+)$/.exec(kms);
    expect(match, 'MINIO_KMS_SECRET_KEY is name:base64').not.toBeNull();
    expect(Buffer.from(match![2]!, 'base64')).toHaveLength(32);
    for (const [settings, expected] of [
      [{}, { mode: 'AES256' }],
      [{ S3_SSE: 'aws:kms' }, { mode: 'aws:kms', keyId: match![1] }],
    ] as const) {
      for (const name of ['api', 'worker', 'media-worker']) {
        const resolved = Object.fromEntries(
          Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [
            k,
            interpolate(String(v), { ...envExample, ...settings }),
          ]),
        );
        expect(loadConfig(resolved).s3.encryption, name).toEqual(expected);
      }
    }
  });
});

describe('docker-compose.yml: observability', () => {
  it('runs Prometheus, Grafana and Jaeger on loopback, provisioned from ops/ files that exist', () => {
    for (const name of ['prometheus', 'grafana', 'jaeger']) {
      expect(services[name]?.restart, name).toBe('unless-stopped');
      for (const port of services[name]?.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    const mounts = ['prometheus', 'grafana'].flatMap((name) =>
      ((services[name] as { volumes?: string[] }).volumes ?? []).filter((v) => v.startsWith('./')),
    );
    expect(mounts.length).toBeGreaterThanOrEqual(4);
    for (const mount of mounts) expect(existsSync(mount.split(':')[0]!), mount).toBe(true);
  });

  it('gives every app the metrics token and an OTLP endpoint, and Prometheus the same token', () => {
    for (const name of ['api', 'worker', 'media-worker']) {
      const env = services[name]?.environment ?? {};
      expect(env.INTAKE_METRICS_TOKEN, name).toContain('${INTAKE_METRICS_TOKEN:?');
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe('http://jaeger:4318');
      expect(env.OTEL_SERVICE_NAME, name).toMatch(/^intake-/);
    }
    expect(services.prometheus?.environment?.INTAKE_METRICS_TOKEN).toContain('${INTAKE_METRICS_TOKEN:?');
    expect(commandText(services.prometheus)).toMatch(/^sh -c set -eu;/);
    expect(envExample.INTAKE_METRICS_TOKEN).toBeTruthy();
    expect(envExample.GRAFANA_ADMIN_PASSWORD).toBeTruthy();
  });
});
