import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../common/durations';
import { ConfigError, loadConfig } from '../../config/env';

describe('configuration', () => {
  it('uses the embedded defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.dataDir).toBe('.data');
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.temporal.namespace).toBe('default');
    expect(config.s3.embedded).toBe(true);
    expect(config.s3.forcePathStyle).toBe(true);
    expect(config.limits.maxUploadBytes).toBe(512 * 1024 * 1024);
    expect(config.limits.maxPixels).toBe(50_000_000);
    expect(config.retention.defaultMs).toBe(7 * 86_400_000);
    expect(config.renditions.map((r) => `${r.name}:${r.maxEdge}`)).toEqual(['thumb:256', 'medium:1024', 'large:2048']);
    expect(config.webhooks.allowPrivate).toBe(false);
    expect(config.webhooks.allowTargets).toEqual([]);
    expect(config.webhooks.disableAfterMs).toBe(5 * 86_400_000);
  });

  it('reads the webhook allow-list and the disable-after period', () => {
    const config = loadConfig({
      INTAKE_WEBHOOK_ALLOW_TARGETS: '127.0.0.1:4555, [::1]:4555,10.1.0.0/16:443',
      INTAKE_WEBHOOK_DISABLE_AFTER: '36h',
    });
    expect(config.webhooks.allowTargets.map((t) => [t.entry, t.port])).toEqual([
      ['127.0.0.1:4555', 4555],
      ['[::1]:4555', 4555],
      ['10.1.0.0/16:443', 443],
    ]);
    expect(config.webhooks.disableAfterMs).toBe(36 * 3_600_000);
    for (const bad of ['localhost:4555', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '10.0.0.0/33:80', '::1:80']) {
      expect(() => loadConfig({ INTAKE_WEBHOOK_ALLOW_TARGETS: bad })).toThrow(
        /INTAKE_WEBHOOK_ALLOW_TARGETS: .*ip:port/,
      );
    }
    expect(() => loadConfig({ INTAKE_WEBHOOK_DISABLE_AFTER: '0d' })).toThrow(
      /INTAKE_WEBHOOK_DISABLE_AFTER: must be longer/,
    );
    expect(() => loadConfig({ INTAKE_WEBHOOK_DISABLE_AFTER: 'soon' })).toThrow(
      /INTAKE_WEBHOOK_DISABLE_AFTER: .*duration/,
    );
  });

  it('switches to external services when their variables are set', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'acme.a1b2c',
      TEMPORAL_API_KEY: 'secret',
      S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
      S3_BUCKET: 'acme-uploads',
      DATABASE_URL: 'postgresql://u:p@db.internal:5432/intake',
      CLAMD_HOST: 'clamav.internal',
    });
    expect(config.temporal.tls).toBe(true);
    expect(config.s3.embedded).toBe(false);
    expect(config.s3.forcePathStyle).toBe(false);
    expect(config.databaseUrl).toContain('db.internal');
    expect(config.clamd.host).toBe('clamav.internal');
  });

  it('names the bad variable and what it expected', () => {
    expect(() => loadConfig({ INTAKE_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ INTAKE_PORT: 'eighty' })).toThrow(/INTAKE_PORT: .*\(got "eighty"\)/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgresql:\/\/ URL/);
    expect(() => loadConfig({ INTAKE_RETENTION: 'a week' })).toThrow(/INTAKE_RETENTION: .*duration/);
    expect(() => loadConfig({ INTAKE_ALLOWED_TYPES: 'image/jpeg,application/zip' })).toThrow(/INTAKE_ALLOWED_TYPES/);
    expect(() => loadConfig({ INTAKE_RENDITIONS: 'thumb=256' })).toThrow(/INTAKE_RENDITIONS: "thumb=256"/);
  });

  it('never echoes a secret in its error', () => {
    const error = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
      } catch (thrown) {
        return (thrown as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    const db = error({ DATABASE_URL: 'mysql://admin:hunter2@db.internal/intake?sslkey=abc' });
    expect(db).toMatch(
      /DATABASE_URL: must be a postgresql:\/\/ URL \(got "mysql:\/\/\*\*\*:\*\*\*@db\.internal\/intake\?\[redacted\]"\)/,
    );
    expect(db).not.toContain('hunter2');
    expect(db).not.toContain('abc');
    const keys = error({ INTAKE_API_KEYS: 'acme=short' });
    expect(keys).not.toContain('short');
    const secret = error({
      S3_SECRET_ACCESS_KEY: '',
      S3_BUCKET: 'Not_A_Bucket',
      TEMPORAL_API_KEY: 'tk',
      TEMPORAL_TLS: 'maybe',
    });
    expect(secret).toContain('S3_BUCKET');
    expect(secret).toContain('(got "maybe")');
  });

  it('checks settings against each other', () => {
    expect(() => loadConfig({ INTAKE_RETENTION: '400d' })).toThrow(/INTAKE_RETENTION: must lie within/);
    expect(() =>
      loadConfig({ INTAKE_RETENTION_MIN: '2d', INTAKE_RETENTION_MAX: '1d', INTAKE_RETENTION: '1d' }),
    ).toThrow(/INTAKE_RETENTION_MIN: must not exceed/);
    expect(() => loadConfig({ TEMPORAL_TLS_CERT_PATH: '/c.pem' })).toThrow(/set together/);
    // An upload clamd cannot read whole would be accepted and then rejected: the limits must agree.
    expect(() => loadConfig({ INTAKE_MAX_UPLOAD_BYTES: '536870912', CLAMD_MAX_STREAM_BYTES: '104857600' })).toThrow(
      /INTAKE_MAX_UPLOAD_BYTES: must not exceed CLAMD_MAX_STREAM_BYTES \(104857600\)/,
    );
    const same = loadConfig({ INTAKE_MAX_UPLOAD_BYTES: '104857600', CLAMD_MAX_STREAM_BYTES: '104857600' });
    expect(same.limits.maxUploadBytes).toBe(same.clamd.maxStreamBytes);
  });

  it('parses seeded API keys and refuses malformed ones', () => {
    expect(loadConfig({ INTAKE_API_KEYS: 'acme=key1-long, globex=key2-long' }).apiKeys).toEqual([
      { tenant: 'acme', key: 'key1-long' },
      { tenant: 'globex', key: 'key2-long' },
    ]);
    expect(() => loadConfig({ INTAKE_API_KEYS: 'acme' })).toThrow(/INTAKE_API_KEYS/);
  });

  it('parses durations', () => {
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('30', 's')).toBe(30_000);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });
});
