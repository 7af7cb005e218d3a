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
    expect(config.renditions.map((r) => `${r.name}:${r.maxEdge}:${r.format}`)).toEqual([
      'thumb:256:webp',
      'medium:1024:webp',
      'large:2048:webp',
      'medium-avif:1024:avif',
      'large-avif:2048:avif',
    ]);
    expect(config.renditionEncoding).toEqual({
      webp: { quality: 80, effort: 4 },
      avif: { quality: 50, effort: 0 },
      animation: { maxFrames: 100, maxPixels: 50_000_000 },
    });
    expect(config.webhooks.allowPrivate).toBe(false);
    expect(config.s3.encryption).toEqual({ mode: 'AES256' });
    expect(config.webhooks.allowTargets).toEqual([]);
    expect(config.webhooks.disableAfterMs).toBe(5 * 86_400_000);
  });

  it('encrypts objects with SSE-S3 by default, SSE-KMS with a key id, or not at all only when told', () => {
    expect(loadConfig({ S3_SSE: 'AES256' }).s3.encryption).toEqual({ mode: 'AES256' });
    expect(loadConfig({ S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'alias/intake' }).s3.encryption).toEqual({
      mode: 'aws:kms',
      keyId: 'alias/intake',
    });
    expect(loadConfig({ S3_SSE: 'none' }).s3.encryption).toEqual({ mode: 'none' });
    // The embedded stack always sets the key id; it only counts with aws:kms.
    expect(loadConfig({ S3_SSE_KMS_KEY_ID: 'intake-key' }).s3.encryption).toEqual({ mode: 'AES256' });
    expect(() => loadConfig({ S3_SSE: 'aws:kms' })).toThrow(/S3_SSE_KMS_KEY_ID: is required when S3_SSE is aws:kms/);
    expect(() => loadConfig({ S3_SSE: 'aes256' })).toThrow(/S3_SSE: .*\(got "aes256"\)/);
  });

  it('uses the embedded Kafka broker unless KAFKA_BROKERS names a cluster, with SASL and TLS from the environment', () => {
    const embedded = loadConfig({}).kafka;
    expect(embedded).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      embedded: true,
      tls: false,
      sasl: undefined,
      topics: { uploads: 'intake.uploads', uploadsDlq: 'intake.uploads.dlq', events: 'intake.events' },
      maxMessageBytes: 10 * 1024 * 1024,
    });
    const cluster = loadConfig({
      KAFKA_BROKERS: 'b-1.kafka.internal:9096, b-2.kafka.internal:9096',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'intake',
      KAFKA_SASL_PASSWORD: 'secret-password',
      KAFKA_TLS: 'true',
      KAFKA_UPLOADS_TOPIC: 'acme.uploads',
    }).kafka;
    expect(cluster).toMatchObject({
      brokers: ['b-1.kafka.internal:9096', 'b-2.kafka.internal:9096'],
      embedded: false,
      tls: true,
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'intake', password: 'secret-password' },
      topics: { uploads: 'acme.uploads' },
    });
    expect(() => loadConfig({ KAFKA_BROKERS: 'kafka' })).toThrow(/KAFKA_BROKERS: "kafka" is not host:port/);
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u' })).toThrow(
      /KAFKA_SASL_PASSWORD: is required when KAFKA_SASL_MECHANISM is PLAIN/,
    );
    expect(() => loadConfig({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(
      /KAFKA_SASL_MECHANISM: must be set/,
    );
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'GSSAPI' })).toThrow(/KAFKA_SASL_MECHANISM/);
    expect(() => loadConfig({ KAFKA_TLS_CA_PATH: '/etc/ca.pem' })).toThrow(/KAFKA_TLS: must be true/);
    expect(() => loadConfig({ KAFKA_EVENTS_TOPIC: 'intake.uploads' })).toThrow(/three different topics/);
    expect(() => loadConfig({ KAFKA_UPLOADS_TOPIC: 'bad topic' })).toThrow(
      /KAFKA_UPLOADS_TOPIC: must be a Kafka topic name/,
    );
    const production = {
      NODE_ENV: 'production',
      INTAKE_PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
      INTAKE_CODEC_TOKEN: 'x'.repeat(24),
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'hunter22',
    };
    expect(() => loadConfig(production)).toThrow(/KAFKA_TLS: must be true with KAFKA_SASL_MECHANISM=PLAIN/);
    expect(loadConfig({ ...production, KAFKA_TLS: 'true' }).kafka.tls).toBe(true);
    // The password never appears in an error.
    expect(() => loadConfig({ KAFKA_SASL_PASSWORD: 'hunter22' })).toThrow(/^(?![\s\S]*hunter22)/);
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

  it('limits batches to INTAKE_MAX_BATCH_FILES files and publishes events unless told not to', () => {
    expect(loadConfig({}).limits.maxBatchFiles).toBe(1000);
    expect(loadConfig({}).kafka.publishEvents).toBe(true);
    const config = loadConfig({ INTAKE_MAX_BATCH_FILES: '50', KAFKA_PUBLISH_EVENTS: 'false' });
    expect(config.limits.maxBatchFiles).toBe(50);
    expect(config.kafka.publishEvents).toBe(false);
    for (const bad of ['0', '-1', '2.5', 'many', '10001']) {
      expect(() => loadConfig({ INTAKE_MAX_BATCH_FILES: bad }), bad).toThrow(/INTAKE_MAX_BATCH_FILES/);
    }
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
    expect(() => loadConfig({ INTAKE_RENDITIONS: 'thumb:256:jpeg' })).toThrow(/INTAKE_RENDITIONS: "thumb:256:jpeg"/);
    expect(() => loadConfig({ INTAKE_RENDITIONS: 'a:256:webp,a:512:avif' })).toThrow(/names the rendition "a" twice/);
    expect(() => loadConfig({ INTAKE_AVIF_EFFORT: '10' })).toThrow(/INTAKE_AVIF_EFFORT/);
  });

  it('draws a PDF thumbnail unless INTAKE_PDF_THUMBNAIL is false, and names the variable when it is neither', () => {
    expect(loadConfig({}).documents.pdf.thumbnail).toBe(true);
    expect(loadConfig({ INTAKE_PDF_THUMBNAIL: 'false' }).documents.pdf.thumbnail).toBe(false);
    expect(loadConfig({ INTAKE_PDF_THUMBNAIL: '0' }).documents.pdf.thumbnail).toBe(false);
    expect(loadConfig({ INTAKE_PDF_THUMBNAIL: 'true' }).documents.pdf.thumbnail).toBe(true);
    expect(() => loadConfig({ INTAKE_PDF_THUMBNAIL: 'sometimes' })).toThrow(/INTAKE_PDF_THUMBNAIL/);
  });

  it("caches as many workflows as INTAKE_MAX_CACHED_WORKFLOWS says, the SDK's default when unset", () => {
    expect(loadConfig({}).worker.maxCachedWorkflows).toBeUndefined();
    expect(loadConfig({ INTAKE_MAX_CACHED_WORKFLOWS: '300' }).worker.maxCachedWorkflows).toBe(300);
    expect(loadConfig({ INTAKE_MAX_CACHED_WORKFLOWS: '0' }).worker.maxCachedWorkflows).toBe(0);
    expect(() => loadConfig({ INTAKE_MAX_CACHED_WORKFLOWS: '1' })).toThrow(
      /INTAKE_MAX_CACHED_WORKFLOWS.*must be 0 \(no cache\) or at least 2/,
    );
    expect(() => loadConfig({ INTAKE_MAX_CACHED_WORKFLOWS: 'many' })).toThrow(/INTAKE_MAX_CACHED_WORKFLOWS/);
  });

  it('reads a format per rendition, and a rendition without one is WebP as before', () => {
    const config = loadConfig({ INTAKE_RENDITIONS: 'thumb:256:webp,medium:1024,large:2048:avif' });
    expect(config.renditions).toEqual([
      { name: 'thumb', maxEdge: 256, format: 'webp' },
      { name: 'medium', maxEdge: 1024, format: 'webp' },
      { name: 'large', maxEdge: 2048, format: 'avif' },
    ]);
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

  it('parses payload keys by id, the first encrypting, and never echoes a key in its error', () => {
    const k1 = Buffer.alloc(32, 1).toString('base64');
    const k2 = Buffer.alloc(32, 2).toString('base64');
    const config = loadConfig({ INTAKE_PAYLOAD_KEYS: `2026-12:${k2}, 2026-01:${k1}` });
    expect(config.codec.keys?.map((k) => k.id)).toEqual(['2026-12', '2026-01']);
    expect(Buffer.from(config.codec.keys![0]!.key).equals(Buffer.alloc(32, 2))).toBe(true);
    // Unset: the development key generated under the data folder (lib/codec-secrets.ts) is used.
    expect(loadConfig({}).codec.keys).toBeUndefined();
    const short = Buffer.alloc(16, 3).toString('base64');
    const error = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
      } catch (thrown) {
        return (thrown as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    const bad = error({ INTAKE_PAYLOAD_KEYS: `k1:${short}` });
    expect(bad).toMatch(/INTAKE_PAYLOAD_KEYS: "k1:\[redacted\]" must be id:key .*32 bytes/);
    expect(bad).not.toContain(short);
    expect(error({ INTAKE_PAYLOAD_KEYS: k1 })).not.toContain(k1);
    expect(error({ INTAKE_PAYLOAD_KEYS: `a:${k1},a:${k2}` })).toMatch(/key id "a" appears twice/);
    expect(error({ INTAKE_CODEC_TOKEN: 'short-token' })).not.toContain('short-token');
  });

  it('serves the codec endpoint on loopback for the Web UI origin unless told otherwise', () => {
    const config = loadConfig({ TEMPORAL_UI_URL: 'http://127.0.0.1:8233/' });
    expect(config.codec).toMatchObject({
      port: 8234,
      host: '127.0.0.1',
      allowedOrigins: ['http://localhost:8233', 'http://127.0.0.1:8233'],
    });
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.acme.example' }).codec.allowedOrigins).toEqual([
      'https://temporal.acme.example',
    ]);
    const listed = loadConfig({ INTAKE_CODEC_ORIGINS: 'https://temporal.acme.example, http://localhost:8080/' });
    expect(listed.codec.allowedOrigins).toEqual(['https://temporal.acme.example', 'http://localhost:8080']);
    expect(() => loadConfig({ INTAKE_CODEC_ORIGINS: 'temporal.acme.example' })).toThrow(/INTAKE_CODEC_ORIGINS/);
  });

  it('refuses production without its own payload keys and codec token', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /INTAKE_PAYLOAD_KEYS: must be set when NODE_ENV=production[\s\S]*INTAKE_CODEC_TOKEN: must be set/,
    );
    const config = loadConfig({
      NODE_ENV: 'production',
      INTAKE_PAYLOAD_KEYS: `prod-1:${Buffer.alloc(32, 9).toString('base64')}`,
      INTAKE_CODEC_TOKEN: 'a-codec-token-of-24-chars-or-more',
    });
    expect(config.codec.token).toBe('a-codec-token-of-24-chars-or-more');
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
