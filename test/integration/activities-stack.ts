import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/create-activities';
import type { IntakeActivities } from '../../activities/types';
import { loadConfig, type Config } from '../../config/env';
import { createClamdScanner, type Scanner } from '../../lib/clamd-scanner';
import { createS3Client } from '../../lib/s3-client';
import { objectExists, readStream } from '../../lib/s3-objects';
import { createDb, type Db } from '../../prisma/db';
import { applyMigrations } from '../../prisma/migrate';

/** The activities wired to the real test stack (MinIO, PostgreSQL, clamd) that global-setup started. */
export interface ActivityStack {
  config: Config;
  s3: S3Client;
  db: Db;
  scanner: Scanner;
  activities: IntakeActivities;
  close(): Promise<void>;
}

export async function openActivityStack(): Promise<ActivityStack> {
  const config = loadConfig();
  await applyMigrations(config.databaseUrl);
  const s3 = createS3Client(config.s3);
  const db = createDb(config.databaseUrl, { poolSize: 4 });
  const scanner = createClamdScanner(config.clamd);
  return {
    config,
    s3,
    db,
    scanner,
    activities: createActivities({ config, s3, db, scanner }),
    async close() {
      await db.$disconnect();
      s3.destroy();
    },
  };
}

/** Runs an activity inside a mock activity context, as a worker would (heartbeat() needs one). */
export function runActivity<I, O>(activity: (input: I) => Promise<O>, input: I): Promise<O> {
  return new MockActivityEnvironment().run(activity, input);
}

/** A tenant row with a fresh Standard Webhooks secret; returns the secret. */
export async function createTenant(db: Db, id: string): Promise<string> {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  await db.tenant.upsert({ where: { id }, create: { id, webhookSecret: secret }, update: { webhookSecret: secret } });
  return secret;
}

export const newFileId = () => randomUUID();

export async function putObject(stack: ActivityStack, key: string, body: Buffer | string, contentType?: string) {
  await stack.s3.send(
    new PutObjectCommand({ Bucket: stack.config.s3.bucket, Key: key, Body: body, ContentType: contentType }),
  );
}

export async function getObject(stack: ActivityStack, key: string): Promise<Buffer> {
  const response = await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.s3.bucket, Key: key }));
  return readStream(response.Body as Readable);
}

export const exists = (stack: ActivityStack, key: string) => objectExists(stack.s3, stack.config.s3.bucket, key);

/** The EICAR anti-virus test file: harmless, but every scanner reports it (built in two halves so no scanner flags this source). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
