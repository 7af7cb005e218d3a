import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startProcess, waitUntilReady, type ServiceProcess } from './service-process';
import { toolPath } from './tools';

/** The one key the embedded MinIO's KMS holds: SSE-S3 objects use it, and SSE-KMS names it. */
export const EMBEDDED_KMS_KEY_NAME = 'intake-key';

/**
 * MinIO's static KMS key (MINIO_KMS_SECRET_KEY, `<name>:<base64 of 32 bytes>`), made once per data dir
 * and kept beside its objects: an encrypted object outlives a restart only if its key does, so the key
 * is never regenerated while the file exists. A data dir is a dev/test store; production S3 uses a
 * real KMS (AWS KMS, or KES in front of MinIO).
 */
export function embeddedKmsSecretKey(dataDir: string): string {
  const file = join(dataDir, 'minio-kms.key');
  try {
    writeFileSync(file, `${EMBEDDED_KMS_KEY_NAME}:${randomBytes(32).toString('base64')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}

export interface MinioServerOptions {
  /** Objects live in <dataDir>/minio, so uploads survive a restart. */
  dataDir: string;
  port: number;
  consolePort: number;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  region?: string;
  timeoutMs?: number;
  /** Origins whose browsers may send direct uploads (CORS); MinIO exposes ETag to them. */
  corsOrigins?: string[];
}

/** The console's origin at the default INTAKE_PUBLIC_URL, as a browser may name it either way. */
export const DEFAULT_CORS_ORIGINS = ['http://localhost:3000', 'http://127.0.0.1:3000'];

export interface MinioServer {
  endpoint: string;
  consoleUrl: string;
  bucket: string;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/** Starts MinIO, waits for its health endpoint, then makes sure the bucket and its lifecycle exist. */
export async function startMinioServer(options: MinioServerOptions): Promise<MinioServer> {
  const storage = join(options.dataDir, 'minio');
  mkdirSync(storage, { recursive: true });
  const logFile = join(options.dataDir, 'logs', 'minio.log');
  const endpoint = `http://127.0.0.1:${options.port}`;
  const child = startProcess({
    name: 'minio',
    command: toolPath('minio'),
    args: [
      'server',
      storage,
      '--address',
      `127.0.0.1:${options.port}`,
      '--console-address',
      `127.0.0.1:${options.consolePort}`,
      '--quiet',
    ],
    env: {
      ...process.env,
      MINIO_ROOT_USER: options.accessKeyId,
      MINIO_ROOT_PASSWORD: options.secretAccessKey,
      MINIO_REGION: options.region ?? 'us-east-1',
      // SSE-S3 and SSE-KMS need a KMS. Auto-encryption stays off on purpose: Intake asks for encryption
      // on every write (lib/s3-encryption.ts), and the tests check that it does.
      MINIO_KMS_SECRET_KEY: embeddedKmsSecretKey(options.dataDir),
      // No phoning home for updates or telemetry: this machine has no internet.
      MINIO_UPDATE: 'off',
      // Browsers PUT direct uploads straight to the bucket: only these origins, rather than MinIO's
      // default of any origin. MinIO allows every request header to them and exposes ETag, which a
      // browser needs to complete a multipart upload.
      MINIO_API_CORS_ALLOW_ORIGIN: (options.corsOrigins ?? DEFAULT_CORS_ORIGINS).join(','),
      MINIO_CALLHOME_ENABLE: 'off',
      // Multipart uploads the API abandons (client gone mid-upload) must not hold disk forever. MinIO
      // rejects the S3 AbortIncompleteMultipartUpload lifecycle rule and expires stale uploads itself,
      // so state that policy here: abort after a day, checked every 6 hours. Nothing else expires by
      // lifecycle: retention is the workflow's job, so it stays visible and exact.
      MINIO_API_STALE_UPLOADS_EXPIRY: '24h',
      MINIO_API_STALE_UPLOADS_CLEANUP_INTERVAL: '6h',
    },
    logFile,
  });
  try {
    await waitUntilReady({
      name: 'MinIO',
      process: child,
      logFile,
      timeoutMs: options.timeoutMs ?? 60_000,
      check: async () => (await fetch(`${endpoint}/minio/health/ready`)).ok,
    });
    await ensureBucket(endpoint, options);
  } catch (error) {
    await child.stop(2_000);
    throw error;
  }
  return {
    endpoint,
    consoleUrl: `http://127.0.0.1:${options.consolePort}`,
    bucket: options.bucket,
    process: child,
    stop: () => child.stop(),
  };
}

async function ensureBucket(endpoint: string, options: MinioServerOptions): Promise<void> {
  const s3 = new S3Client({
    endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
  });
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: options.bucket }));
    } catch {
      await s3.send(new CreateBucketCommand({ Bucket: options.bucket }));
    }
  } finally {
    s3.destroy();
  }
}
