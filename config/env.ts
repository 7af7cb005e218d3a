import { z } from 'zod';
import { redactUrl } from '../common/redact';
import { parseDuration } from '../common/durations';
import { isTenantId } from '../common/tenant-id';
import { BUILT_IN_LIMITS, parseLimitList } from '../common/tenant-limits';
import { parseAllowedTarget, type AllowedTarget } from '../lib/webhook-guard';

const duration = z.string().transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/**
 * `id:base64,id2:base64…`: AES-256 keys for the Temporal payload codec. The first encrypts; every one
 * decrypts, so a key is rotated by putting the new one first and keeping the old ones until no running
 * workflow's history needs them. A bad entry is named by its id only: the key itself is a secret.
 */
const payloadKeyList = z.string().transform((value, ctx) => {
  const out: { id: string; key: Uint8Array }[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    const id = colon > 0 ? part.slice(0, colon) : '';
    const key = Buffer.from(part.slice(colon + 1), 'base64');
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || key.length !== 32) {
      ctx.addIssue({
        code: 'custom',
        message: `"${id || '[redacted]'}:[redacted]" must be id:key with id of letters, digits, . _ - and key 32 bytes in base64 (openssl rand -base64 32)`,
      });
      return z.NEVER;
    }
    if (out.some((k) => k.id === id)) {
      ctx.addIssue({ code: 'custom', message: `key id "${id}" appears twice` });
      return z.NEVER;
    }
    out.push({ id, key });
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'names no key' });
    return z.NEVER;
  }
  return out;
});

const originList = z.string().transform((value, ctx) => {
  const out: string[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const parsed = z.url().safeParse(part);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not an origin such as https://temporal.example.com` });
      return z.NEVER;
    }
    out.push(new URL(part).origin);
  }
  return out;
});

/** `host:port,host:port`: the bootstrap brokers of a Kafka cluster. */
const brokerList = z.string().transform((value, ctx) => {
  const out: string[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(part);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not host:port (e.g. kafka-1.internal:9092)` });
      return z.NEVER;
    }
    out.push(part);
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'names no broker' });
    return z.NEVER;
  }
  return out;
});

/** A Kafka topic name as the broker accepts it. */
const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name (letters, digits, . _ -, at most 249)');

export const RENDITION_FORMATS = ['webp', 'avif'] as const;
export type RenditionFormat = (typeof RENDITION_FORMATS)[number];

/** name:pixels[:format]; a rendition without a format is WebP, as every rendition was before formats. */
const renditionList = z.string().transform((value, ctx) => {
  const out: { name: string; maxEdge: number; format: RenditionFormat }[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^([a-z][a-z0-9_-]{0,31}):(\d{1,5})(?::(webp|avif))?$/.exec(part);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not name:pixels[:webp|avif] (e.g. thumb:256:webp)` });
      return z.NEVER;
    }
    // The name is the rendition's URL (/v1/files/{id}/renditions/{name}): two of one name could not both be served.
    if (out.some((r) => r.name === match[1])) {
      ctx.addIssue({ code: 'custom', message: `names the rendition "${match[1]}" twice` });
      return z.NEVER;
    }
    out.push({ name: match[1]!, maxEdge: Number(match[2]), format: (match[3] ?? 'webp') as RenditionFormat });
  }
  return out;
});

const allowedTargets = z.string().transform((value, ctx) => {
  const out: AllowedTarget[] = [];
  for (const entry of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    try {
      out.push(parseAllowedTarget(entry));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }
  return out;
});

export const ALL_CONTENT_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/tiff',
  'image/heic',
  'image/heif',
  'application/pdf',
  'text/plain',
  'application/json',
] as const;

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    INTAKE_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    INTAKE_HOST: z.string().default('0.0.0.0'),
    INTAKE_PUBLIC_URL: z.url().optional(),
    INTAKE_DATA_DIR: z.string().min(1).default('.data'),
    INTAKE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    INTAKE_API_KEYS: z.string().optional(),

    TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_API_KEY: z.string().optional(),
    TEMPORAL_TLS: bool.optional(),
    TEMPORAL_TLS_CERT_PATH: z.string().optional(),
    TEMPORAL_TLS_KEY_PATH: z.string().optional(),
    TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),

    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
      .default('postgresql://intake:intake@127.0.0.1:5433/intake'),

    S3_ENDPOINT: z.url().optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_ACCESS_KEY_ID: z.string().min(1).default('intake'),
    S3_SECRET_ACCESS_KEY: z.string().min(1).default('intake-dev-secret'),
    S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
      .default('intake'),
    S3_FORCE_PATH_STYLE: bool.optional(),
    // Server-side encryption of every object Intake writes: SSE-S3 unless told otherwise. `none` is for
    // an S3-compatible store without a KMS, which refuses the header; it is never the default.
    S3_SSE: z.enum(['AES256', 'aws:kms', 'none']).default('AES256'),
    // Only read with S3_SSE=aws:kms; the embedded stack sets it to its MinIO's key (infra/stack.ts), so
    // S3_SSE=aws:kms alone switches dev and tests to SSE-KMS.
    S3_SSE_KMS_KEY_ID: z.string().trim().min(1).optional(),

    CLAMD_HOST: z.string().min(1).default('127.0.0.1'),
    CLAMD_PORT: z.coerce.number().int().min(1).max(65535).default(3310),
    // Rate limits and upload slots, shared by every API process; the embedded stack starts one here.
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6380'),
    // Every tenant's limits unless the CLI set its own: rps (per API key), uploads (at once), storage, files.
    INTAKE_DEFAULT_LIMITS: z
      .string()
      .transform((value, ctx) => {
        try {
          return parseLimitList(value, BUILT_IN_LIMITS);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      })
      .default(BUILT_IN_LIMITS),
    CLAMD_TIMEOUT: duration.default(60_000),
    // clamd's StreamMaxLength in bytes (the embedded clamd is started with 1000M); a longer file is REJECTED.
    CLAMD_MAX_STREAM_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(1000 * 1024 * 1024),

    INTAKE_MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(512 * 1024 * 1024),
    // Files one POST /v1/batches may carry; each becomes a file with its own workflow.
    INTAKE_MAX_BATCH_FILES: z.coerce.number().int().min(1).max(10_000).default(1000),
    INTAKE_ALLOWED_TYPES: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(ALL_CONTENT_TYPES)).min(1))
      .default([...ALL_CONTENT_TYPES]),
    INTAKE_MAX_PIXELS: z.coerce.number().int().positive().default(50_000_000),
    INTAKE_RENDITIONS: renditionList.default([
      { name: 'thumb', maxEdge: 256, format: 'webp' },
      { name: 'medium', maxEdge: 1024, format: 'webp' },
      { name: 'large', maxEdge: 2048, format: 'webp' },
      { name: 'medium-avif', maxEdge: 1024, format: 'avif' },
      { name: 'large-avif', maxEdge: 2048, format: 'avif' },
    ]),
    // Defaults chosen from BENCH_ONLY=renditions (README, "Renditions and image formats").
    INTAKE_WEBP_QUALITY: z.coerce.number().int().min(1).max(100).default(80),
    INTAKE_WEBP_EFFORT: z.coerce.number().int().min(0).max(6).default(4),
    INTAKE_AVIF_QUALITY: z.coerce.number().int().min(1).max(100).default(50),
    INTAKE_AVIF_EFFORT: z.coerce.number().int().min(0).max(9).default(0),
    // Every frame is decoded and encoded: a long or large animation costs its frame count times a still.
    INTAKE_ANIMATION_MAX_FRAMES: z.coerce.number().int().min(1).default(100),
    INTAKE_ANIMATION_MAX_PIXELS: z.coerce.number().int().positive().default(50_000_000),
    // PDFs are parsed (pdfjs-dist) in a worker thread bounded by these; past any of them: REJECTED.
    INTAKE_PDF_MAX_PAGES: z.coerce.number().int().positive().default(2000),
    INTAKE_PDF_PARSE_TIMEOUT: duration.pipe(z.number().min(100, 'must be at least 100ms')).default(30_000),
    INTAKE_PDF_PARSE_MEMORY_MB: z.coerce.number().int().min(16).max(8192).default(256),
    // An encrypted PDF cannot be scanned or indexed: REJECTED, or accepted with `encrypted: true`.
    INTAKE_PDF_ENCRYPTED: z.enum(['reject', 'accept']).default('reject'),
    // Text from this many first pages goes into the search index (0: none).
    INTAKE_PDF_TEXT_PAGES: z.coerce.number().int().min(0).max(10_000).default(20),
    // Page 1 rendered to the `thumb` rendition (INTAKE_RENDITIONS), within the parse limits above.
    INTAKE_PDF_THUMBNAIL: bool.default(true),
    // The most JSON the validate step holds in memory to check against a tenant's schema; larger: REJECTED.
    INTAKE_SCHEMA_MAX_JSON_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    INTAKE_RETENTION: duration.default(7 * 86_400_000),
    INTAKE_RETENTION_MIN: duration.default(60_000),
    INTAKE_RETENTION_MAX: duration.default(365 * 86_400_000),
    // Evidence: an infected file's quarantined copy is kept this long, whatever the upload's own retention.
    INTAKE_QUARANTINE_RETENTION: duration.default(30 * 86_400_000),
    INTAKE_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
    // Exceptions to the private-address guard, one port each (e.g. a test receiver on loopback); the
    // guard stays on for everything else, unlike INTAKE_WEBHOOK_ALLOW_PRIVATE.
    INTAKE_WEBHOOK_ALLOW_TARGETS: allowedTargets.default([]),
    // Svix's rule: an endpoint whose every attempt has failed for this long is disabled.
    INTAKE_WEBHOOK_DISABLE_AFTER: duration.pipe(z.number().positive('must be longer than 0')).default(5 * 86_400_000),
    // Share links (POST /v1/files/{id}/shares): the longest expiresIn a link may ask for.
    INTAKE_SHARE_MAX_EXPIRY: duration.pipe(z.number().positive('must be longer than 0')).default(30 * 86_400_000),
    // Direct uploads (POST /v1/uploads): one presigned PUT up to the threshold, a multipart plan above it.
    INTAKE_DIRECT_UPLOAD_THRESHOLD: z.coerce
      .number()
      .int()
      .min(5 * 1024 * 1024, "must be at least 5 MiB (S3's smallest multipart part)")
      .max(5 * 1024 * 1024 * 1024, "must be at most 5 GiB (S3's largest single PUT)")
      .default(64 * 1024 * 1024),
    INTAKE_DIRECT_UPLOAD_PART_SIZE: z.coerce
      .number()
      .int()
      .min(5 * 1024 * 1024, "must be at least 5 MiB (S3's smallest multipart part)")
      .max(5 * 1024 * 1024 * 1024, "must be at most 5 GiB (S3's largest part)")
      .default(16 * 1024 * 1024),
    // How long the presigned URLs of a direct upload stay valid; complete must come before, or 410.
    INTAKE_DIRECT_UPLOAD_EXPIRY: duration
      .pipe(
        z
          .number()
          .min(1_000, 'must be at least 1s')
          .max(7 * 86_400_000, 'must be at most 7d (SigV4)'),
      )
      .default(3_600_000),
    // Resumable uploads (/v1/tus/): an unfinished upload expires this long after its creation (tus'
    // expiration extension); HEAD and PATCH answer 410 after it.
    INTAKE_TUS_EXPIRY: duration.pipe(z.number().min(60_000, 'must be at least 1m')).default(86_400_000),
    // The size of the S3 parts tus bytes are assembled from: S3's parts are 5 MiB at least.
    INTAKE_TUS_PART_SIZE: z.coerce
      .number()
      .int()
      .min(5 * 1024 * 1024, "must be at least 5 MiB (S3's smallest multipart part)")
      .max(5 * 1024 * 1024 * 1024, "must be at most 5 GiB (S3's largest part)")
      .default(8 * 1024 * 1024),
    // Browser origins that may PUT a direct upload's bytes to S3 (CORS on the bucket; the embedded MinIO
    // is started with them).
    INTAKE_UPLOAD_ORIGINS: originList.optional(),
    INTAKE_RESIZE_CONCURRENCY: z.coerce.number().int().positive().optional(),
    // Deletions (retention expiries, DELETEs) one worker process works on at once; the rest wait in it, so
    // a retention storm cannot take every database connection from the uploads still processing.
    INTAKE_DELETE_CONCURRENCY: z.coerce.number().int().positive().max(1000).default(8),
    // Workflows a worker keeps in memory between their tasks. Each cached upload costs about 0.7 MiB, and an
    // upload stays open for its whole retention, so the SDK's default (sized from the heap, about 2,300 on
    // a 4 GiB heap) lets memory grow with the files waiting on retention. An evicted workflow replays
    // its history on its next task. 0 turns the cache off; 1 is not allowed by the SDK.
    INTAKE_MAX_CACHED_WORKFLOWS: z.coerce
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .refine((n) => n !== 1, 'must be 0 (no cache) or at least 2')
      .optional(),
    // The `intake-backup` Schedule (UTC): five cron fields. Temporal reads the expression itself.
    INTAKE_BACKUP_SCHEDULE: z
      .string()
      .trim()
      .regex(/^\S+( \S+){4}$/, 'must be a cron expression of five fields, e.g. "0 3 * * *"')
      .default('0 3 * * *'),
    INTAKE_BACKUP_KEEP: z.coerce.number().int().min(1).max(10_000).default(14),
    // Where pg_dump/pg_restore are (the server's major version); unset: on PATH. The dev stack sets it.
    INTAKE_PG_BIN_DIR: z.string().trim().min(1).optional(),
    // `ingest` runs only the Kafka consumer of the uploads topic; `all` runs it beside both task queues.
    INTAKE_WORKER_KIND: z.enum(['all', 'general', 'media', 'ingest']).default('all'),
    // Workers have no API; unset, they open no port (several share a machine in development).
    INTAKE_WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),

    // Unset: the embedded broker of `npm run dev` / `npm run infra` on its default port.
    KAFKA_BROKERS: brokerList.optional(),
    KAFKA_CLIENT_ID: z.string().min(1).default('intake'),
    KAFKA_SASL_MECHANISM: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).optional(),
    KAFKA_SASL_USERNAME: z.string().min(1).optional(),
    KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
    KAFKA_TLS: bool.default(false),
    // A CA bundle (PEM) for a cluster whose certificate no public CA signed; the system's CAs otherwise.
    KAFKA_TLS_CA_PATH: z.string().min(1).optional(),
    KAFKA_UPLOADS_TOPIC: topicName.default('intake.uploads'),
    KAFKA_UPLOADS_DLQ_TOPIC: topicName.default('intake.uploads.dlq'),
    KAFKA_EVENTS_TOPIC: topicName.default('intake.events'),
    // Only used when Intake creates a missing topic: consumers of one group scale up to this many.
    KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(4),
    // The largest message the topics take (the embedded broker's message.max.bytes too); larger files
    // go by reference (application/vnd.intake.upload+json).
    KAFKA_MAX_MESSAGE_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(10 * 1024 * 1024),
    // Buckets a by-reference message may name (comma-separated); unset: any the S3 credentials can read.
    // Intake's own bucket is always refused: a reference must not reach another tenant's files.
    KAFKA_REFERENCE_BUCKETS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean),
      )
      .optional(),
    KAFKA_CONSUMER_GROUP: z.string().min(1).default('intake-ingest'),
    // Messages one ingest consumer works on at once; it stops fetching while that many are in flight.
    KAFKA_INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
    // Whether every event told to webhooks is also published to KAFKA_EVENTS_TOPIC.
    KAFKA_PUBLISH_EVENTS: bool.default(true),
    // Whether a worker of kind `all` also consumes the uploads topic (kind `ingest` always does).
    KAFKA_INGEST: bool.default(true),

    INTAKE_PAYLOAD_KEYS: payloadKeyList.optional(),
    // The codec endpoint decrypts for whoever holds the token, so it gets its own listener, on loopback
    // unless an operator deliberately exposes it, instead of sharing the public API's port.
    INTAKE_CODEC_PORT: z.coerce.number().int().min(0).max(65535).default(8234),
    INTAKE_CODEC_HOST: z.string().min(1).default('127.0.0.1'),
    INTAKE_CODEC_TOKEN: z.string().min(24, 'must be at least 24 characters (openssl rand -hex 24)').optional(),
    INTAKE_CODEC_ORIGINS: originList.optional(),

    // Prometheus: /metrics on the API's port, and each worker's own listener. With a token set, both
    // ask for it as a bearer token; without one they are open, which only development and tests allow.
    INTAKE_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (openssl rand -hex 16)').optional(),
    INTAKE_WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    INTAKE_WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
    // Off only to measure what metrics cost (bench); Prometheus scrapes are the operator's view.
    INTAKE_METRICS: bool.default(true),

    // OpenTelemetry, by its standard variables only. The SDK reads them itself; they are checked here
    // so a typo stops the process instead of silently exporting nothing.
    OTEL_SDK_DISABLED: bool.default(false),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
    OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json']).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).optional(),
    OTEL_TRACES_SAMPLER: z
      .enum([
        'always_on',
        'always_off',
        'traceidratio',
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
      ])
      .optional(),
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.INTAKE_RETENTION_MIN > env.INTAKE_RETENTION_MAX) {
      ctx.addIssue({ code: 'custom', path: ['INTAKE_RETENTION_MIN'], message: 'must not exceed INTAKE_RETENTION_MAX' });
    }
    if (env.INTAKE_RETENTION < env.INTAKE_RETENTION_MIN || env.INTAKE_RETENTION > env.INTAKE_RETENTION_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['INTAKE_RETENTION'],
        message: 'must lie within INTAKE_RETENTION_MIN..INTAKE_RETENTION_MAX',
      });
    }
    if (env.INTAKE_MAX_UPLOAD_BYTES > env.CLAMD_MAX_STREAM_BYTES) {
      // clamd would refuse the rest of the stream, so every upload between the two limits would be
      // accepted and then REJECTED: refuse the configuration instead.
      ctx.addIssue({
        code: 'custom',
        path: ['INTAKE_MAX_UPLOAD_BYTES'],
        message: `must not exceed CLAMD_MAX_STREAM_BYTES (${env.CLAMD_MAX_STREAM_BYTES}), the most clamd reads of a file; raise both together`,
      });
    }
    if (env.S3_SSE === 'aws:kms' && !env.S3_SSE_KMS_KEY_ID) {
      // Without a key id S3 would use the account's AWS-managed key, which is not what was asked for.
      ctx.addIssue({
        code: 'custom',
        path: ['S3_SSE_KMS_KEY_ID'],
        message: 'is required when S3_SSE is aws:kms (the KMS key id or ARN objects are encrypted with)',
      });
    }
    if (env.NODE_ENV === 'production') {
      // The embedded defaults generate these under the data folder; a production deployment whose
      // processes each made their own would encrypt histories the others cannot read.
      for (const variable of ['INTAKE_PAYLOAD_KEYS', 'INTAKE_CODEC_TOKEN'] as const) {
        if (env[variable] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [variable],
            message: 'must be set when NODE_ENV=production (the generated development value is per data folder)',
          });
        }
      }
    }
    if (env.KAFKA_SASL_MECHANISM && !(env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME'],
        message: `is required when KAFKA_SASL_MECHANISM is ${env.KAFKA_SASL_MECHANISM}`,
      });
    }
    if (!env.KAFKA_SASL_MECHANISM && (env.KAFKA_SASL_USERNAME || env.KAFKA_SASL_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_SASL_MECHANISM'],
        message: 'must be set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) when KAFKA_SASL_USERNAME/PASSWORD are',
      });
    }
    if (env.NODE_ENV === 'production' && env.KAFKA_SASL_MECHANISM === 'PLAIN' && !env.KAFKA_TLS) {
      // SASL/PLAIN sends the password as it is: over a plaintext listener anyone on the path reads it.
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_TLS'],
        message: 'must be true with KAFKA_SASL_MECHANISM=PLAIN in production (PLAIN sends the password in clear)',
      });
    }
    if (env.KAFKA_TLS_CA_PATH && !env.KAFKA_TLS) {
      ctx.addIssue({ code: 'custom', path: ['KAFKA_TLS'], message: 'must be true when KAFKA_TLS_CA_PATH is set' });
    }
    if (new Set([env.KAFKA_UPLOADS_TOPIC, env.KAFKA_UPLOADS_DLQ_TOPIC, env.KAFKA_EVENTS_TOPIC]).size !== 3) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_UPLOADS_DLQ_TOPIC'],
        message: 'KAFKA_UPLOADS_TOPIC, KAFKA_UPLOADS_DLQ_TOPIC and KAFKA_EVENTS_TOPIC must be three different topics',
      });
    }
    if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS_CERT_PATH'],
        message: 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together',
      });
    }
  });

/** Every environment variable Intake reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function toConfig(env: z.output<typeof envSchema>) {
  const s3Endpoint = env.S3_ENDPOINT ?? 'http://127.0.0.1:9000';
  return {
    env: env.NODE_ENV,
    port: env.INTAKE_PORT,
    host: env.INTAKE_HOST,
    publicUrl: (env.INTAKE_PUBLIC_URL ?? `http://localhost:${env.INTAKE_PORT}`).replace(/\/$/, ''),
    dataDir: env.INTAKE_DATA_DIR,
    logLevel: env.INTAKE_LOG_LEVEL,
    apiKeys: parseApiKeys(env.INTAKE_API_KEYS),
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      apiKey: env.TEMPORAL_API_KEY,
      tls: env.TEMPORAL_TLS ?? Boolean(env.TEMPORAL_API_KEY || env.TEMPORAL_TLS_CERT_PATH),
      tlsCertPath: env.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: env.TEMPORAL_TLS_KEY_PATH,
      uiUrl: env.TEMPORAL_UI_URL.replace(/\/$/, ''),
    },
    databaseUrl: env.DATABASE_URL,
    s3: {
      endpoint: s3Endpoint,
      /** True when no endpoint is configured: AWS S3 itself is not the default, the embedded server is. */
      embedded: env.S3_ENDPOINT === undefined,
      region: env.S3_REGION,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      bucket: env.S3_BUCKET,
      forcePathStyle: env.S3_FORCE_PATH_STYLE ?? !/amazonaws\.com/.test(s3Endpoint),
      encryption: objectEncryption(env),
    },
    clamd: {
      host: env.CLAMD_HOST,
      port: env.CLAMD_PORT,
      timeoutMs: env.CLAMD_TIMEOUT,
      maxStreamBytes: env.CLAMD_MAX_STREAM_BYTES,
    },
    redis: { url: env.REDIS_URL },
    /** Limits of a tenant without its own (intake tenants limits set). */
    defaultLimits: env.INTAKE_DEFAULT_LIMITS,
    limits: {
      maxUploadBytes: env.INTAKE_MAX_UPLOAD_BYTES,
      maxBatchFiles: env.INTAKE_MAX_BATCH_FILES,
      allowedTypes: env.INTAKE_ALLOWED_TYPES,
      maxPixels: env.INTAKE_MAX_PIXELS,
    },
    documents: {
      pdf: {
        maxPages: env.INTAKE_PDF_MAX_PAGES,
        parseTimeoutMs: env.INTAKE_PDF_PARSE_TIMEOUT,
        parseMemoryMb: env.INTAKE_PDF_PARSE_MEMORY_MB,
        encrypted: env.INTAKE_PDF_ENCRYPTED,
        textPages: env.INTAKE_PDF_TEXT_PAGES,
        thumbnail: env.INTAKE_PDF_THUMBNAIL,
      },
      schemaMaxJsonBytes: env.INTAKE_SCHEMA_MAX_JSON_BYTES,
    },
    renditions: env.INTAKE_RENDITIONS,
    renditionEncoding: {
      webp: { quality: env.INTAKE_WEBP_QUALITY, effort: env.INTAKE_WEBP_EFFORT },
      avif: { quality: env.INTAKE_AVIF_QUALITY, effort: env.INTAKE_AVIF_EFFORT },
      /** Past either, a rendition is of the first frame only. maxPixels counts every frame's pixels. */
      animation: { maxFrames: env.INTAKE_ANIMATION_MAX_FRAMES, maxPixels: env.INTAKE_ANIMATION_MAX_PIXELS },
    },
    retention: {
      defaultMs: env.INTAKE_RETENTION,
      minMs: env.INTAKE_RETENTION_MIN,
      maxMs: env.INTAKE_RETENTION_MAX,
      quarantineMs: env.INTAKE_QUARANTINE_RETENTION,
    },
    webhooks: {
      allowPrivate: env.INTAKE_WEBHOOK_ALLOW_PRIVATE,
      allowTargets: env.INTAKE_WEBHOOK_ALLOW_TARGETS,
      disableAfterMs: env.INTAKE_WEBHOOK_DISABLE_AFTER,
    },
    shares: { maxExpiryMs: env.INTAKE_SHARE_MAX_EXPIRY },
    directUploads: {
      /** Up to this size one presigned PUT; above it a multipart plan. */
      thresholdBytes: env.INTAKE_DIRECT_UPLOAD_THRESHOLD,
      partBytes: env.INTAKE_DIRECT_UPLOAD_PART_SIZE,
      expiryMs: env.INTAKE_DIRECT_UPLOAD_EXPIRY,
      /** CORS origins for the bucket: the console's (INTAKE_PUBLIC_URL's) unless listed. */
      browserOrigins:
        env.INTAKE_UPLOAD_ORIGINS ??
        loopbackTwins(new URL(env.INTAKE_PUBLIC_URL ?? `http://localhost:${env.INTAKE_PORT}`).origin),
    },
    tus: { expiryMs: env.INTAKE_TUS_EXPIRY, partBytes: env.INTAKE_TUS_PART_SIZE },
    worker: {
      kind: env.INTAKE_WORKER_KIND,
      resizeConcurrency: env.INTAKE_RESIZE_CONCURRENCY,
      /** Concurrent deleteArtifacts per worker process (activities/delete-artifacts.ts). */
      deleteConcurrency: env.INTAKE_DELETE_CONCURRENCY,
      /** Workflows the workflow worker caches (Temporal's maxCachedWorkflows); undefined: the SDK's default. */
      maxCachedWorkflows: env.INTAKE_MAX_CACHED_WORKFLOWS,
      /** Port of /healthz and /readyz (workers/health-server.ts); undefined: none. */
      healthPort: env.INTAKE_WORKER_HEALTH_PORT,
    },
    backup: {
      cron: env.INTAKE_BACKUP_SCHEDULE,
      keep: env.INTAKE_BACKUP_KEEP,
      pgBinDir: env.INTAKE_PG_BIN_DIR,
    },
    kafka: {
      brokers: env.KAFKA_BROKERS ?? ['127.0.0.1:9092'],
      /** True when no brokers are configured: the embedded broker, not a production cluster. */
      embedded: env.KAFKA_BROKERS === undefined,
      clientId: env.KAFKA_CLIENT_ID,
      sasl: env.KAFKA_SASL_MECHANISM
        ? {
            mechanism: env.KAFKA_SASL_MECHANISM,
            // The schema refuses a mechanism without both.
            username: env.KAFKA_SASL_USERNAME!,
            password: env.KAFKA_SASL_PASSWORD!,
          }
        : undefined,
      tls: env.KAFKA_TLS,
      tlsCaPath: env.KAFKA_TLS_CA_PATH,
      topics: {
        uploads: env.KAFKA_UPLOADS_TOPIC,
        uploadsDlq: env.KAFKA_UPLOADS_DLQ_TOPIC,
        events: env.KAFKA_EVENTS_TOPIC,
      },
      partitions: env.KAFKA_TOPIC_PARTITIONS,
      maxMessageBytes: env.KAFKA_MAX_MESSAGE_BYTES,
      referenceBuckets: env.KAFKA_REFERENCE_BUCKETS,
      consumerGroup: env.KAFKA_CONSUMER_GROUP,
      ingestConcurrency: env.KAFKA_INGEST_CONCURRENCY,
      ingestInAllWorker: env.KAFKA_INGEST,
      publishEvents: env.KAFKA_PUBLISH_EVENTS,
    },
    metrics: {
      enabled: env.INTAKE_METRICS,
      /** Undefined: the endpoints are open (development and tests) or refuse (production). */
      token: env.INTAKE_METRICS_TOKEN,
      /** Without a token, production keeps /metrics closed rather than open to whoever reaches the port. */
      open: env.INTAKE_METRICS_TOKEN === undefined && env.NODE_ENV !== 'production',
      workerPort: env.INTAKE_WORKER_METRICS_PORT,
      workerHost: env.INTAKE_WORKER_METRICS_HOST,
    },
    telemetry: {
      enabled: !env.OTEL_SDK_DISABLED,
      /** Where spans go (OTLP/HTTP); undefined: spans are made (ids in logs and views) but never sent. */
      tracesUrl:
        env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        (env.OTEL_EXPORTER_OTLP_ENDPOINT && `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`),
      protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL,
      serviceName: env.OTEL_SERVICE_NAME,
    },
    codec: {
      /** Undefined: the development key generated under dataDir (lib/codec-secrets.ts). */
      keys: env.INTAKE_PAYLOAD_KEYS,
      port: env.INTAKE_CODEC_PORT,
      host: env.INTAKE_CODEC_HOST,
      /** Undefined: the development token generated under dataDir. */
      token: env.INTAKE_CODEC_TOKEN,
      /** Browser origins allowed to call the codec endpoint: the Web UI's, unless listed. */
      allowedOrigins: env.INTAKE_CODEC_ORIGINS ?? loopbackTwins(new URL(env.TEMPORAL_UI_URL).origin),
    },
  };
}

export type Config = ReturnType<typeof toConfig>;

/** How S3 encrypts what Intake writes; lib/s3-encryption.ts turns it into request parameters. */
export type ObjectEncryption = { mode: 'AES256' } | { mode: 'aws:kms'; keyId: string } | { mode: 'none' };

function objectEncryption(env: z.output<typeof envSchema>): ObjectEncryption {
  if (env.S3_SSE === 'aws:kms') {
    // The schema refuses aws:kms without a key id.
    return { mode: 'aws:kms', keyId: env.S3_SSE_KMS_KEY_ID! };
  }
  return { mode: env.S3_SSE };
}

/** A UI on loopback is opened as localhost or 127.0.0.1 alike; the browser's Origin says which. */
function loopbackTwins(origin: string): string[] {
  const url = new URL(origin);
  if (url.hostname !== 'localhost' && url.hostname !== '127.0.0.1') return [origin];
  return ['localhost', '127.0.0.1'].map((host) => `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`);
}

function parseApiKeys(value: string | undefined): { tenant: string; key: string }[] {
  if (!value) return [];
  return value
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const tenant = pair.slice(0, eq).trim();
      const key = pair.slice(eq + 1).trim();
      if (eq <= 0 || !isTenantId(tenant) || key.length < 8) {
        throw new ConfigError(
          `INTAKE_API_KEYS: "${eq > 0 ? `${pair.slice(0, eq)}=[redacted]` : '[redacted]'}" must be tenant=key (tenant: lowercase letters, digits, - or _; key: 8+ characters)`,
        );
      }
      return { tenant, key };
    });
}

/**
 * What a configuration error may echo of a value: logs and crash reports are read by more people than
 * the secrets are meant for. Secret variables show nothing; URLs lose their credentials and query.
 */
export function shownValue(variable: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/SECRET|PASSWORD|TOKEN|KEY/.test(variable)) return '[redacted]';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return redactUrl(value);
  return value;
}

/** Reads and validates every setting once; the error names each bad variable and what it expected. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const variable = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
      const got = variable === undefined ? undefined : shownValue(variable, cleaned[variable]);
      return `  ${name}: ${issue.message}${got === undefined ? '' : ` (got "${got}")`}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return toConfig(parsed.data);
}
