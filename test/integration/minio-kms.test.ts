import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { freePorts } from '../../infra/free-port';
import { EMBEDDED_KMS_KEY_NAME, embeddedKmsSecretKey, startMinioServer } from '../../infra/minio-server';
import { createS3Client } from '../../lib/s3-client';
import { readStream, getObjectStream } from '../../lib/s3-objects';

/*
 * The embedded MinIO's KMS key belongs to its data dir: objects encrypted before a restart must still
 * read after it, which only holds if the key is made once and kept. A MinIO of its own, on a temp dir,
 * so the shared stack is never restarted.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'intake-minio-kms-'));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the embedded MinIO KMS key', () => {
  it('is made once per data dir, readable by its owner only, as name:base64 of 32 bytes', () => {
    const key = embeddedKmsSecretKey(dataDir);
    expect(embeddedKmsSecretKey(dataDir)).toBe(key);
    const [name, secret] = key.split(':');
    expect(name).toBe(EMBEDDED_KMS_KEY_NAME);
    expect(Buffer.from(secret!, 'base64')).toHaveLength(32);
    expect(statSync(join(dataDir, 'minio-kms.key')).mode & 0o777).toBe(0o600);
    const other = mkdtempSync(join(tmpdir(), 'intake-minio-kms-other-'));
    try {
      expect(embeddedKmsSecretKey(other)).not.toBe(key);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('keeps SSE-S3 and SSE-KMS objects readable across a restart of the same data dir', async () => {
    const [port, consolePort] = await freePorts(2);
    const options = {
      dataDir,
      port: port!,
      consolePort: consolePort!,
      accessKeyId: 'intake',
      secretAccessKey: 'intake-kms-test-secret',
      bucket: 'intake',
    };
    const clientFor = (endpoint: string, sse: Record<string, string>) =>
      createS3Client(
        loadConfig({
          S3_ENDPOINT: endpoint,
          S3_ACCESS_KEY_ID: options.accessKeyId,
          S3_SECRET_ACCESS_KEY: options.secretAccessKey,
          S3_SSE_KMS_KEY_ID: EMBEDDED_KMS_KEY_NAME,
          ...sse,
        }).s3,
      );
    const first = await startMinioServer(options);
    try {
      for (const [key, sse] of [
        ['sse-s3', {}],
        ['sse-kms', { S3_SSE: 'aws:kms' }],
      ] as const) {
        const s3 = clientFor(first.endpoint, sse);
        await s3.send(new PutObjectCommand({ Bucket: 'intake', Key: key, Body: `kept ${key}` }));
        s3.destroy();
      }
    } finally {
      await first.stop();
    }

    const second = await startMinioServer(options);
    const s3 = clientFor(second.endpoint, {});
    try {
      for (const [key, encryption] of [
        ['sse-s3', 'AES256'],
        ['sse-kms', 'aws:kms'],
      ] as const) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'intake', Key: key }));
        expect(head.ServerSideEncryption, key).toBe(encryption);
        expect((await readStream(await getObjectStream(s3, 'intake', key))).toString()).toBe(`kept ${key}`);
      }
    } finally {
      s3.destroy();
      await second.stop();
    }
  });
});
