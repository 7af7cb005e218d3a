import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { operatorConfig } from './operator-config';
import { createS3Client } from '../../lib/s3-client';
import { storageKeys } from '../../lib/storage-keys';
import { readFileFacts, UnknownTenantError, type FileFact } from '../../prisma/file-facts';
import { CliError } from '../errors';
import { pathExists } from '../path-exists';
import type { OutStream } from '../output/terminal';
import { csvOfFacts } from './facts-csv';
import { writeFactsParquet } from './facts-parquet';

/*
 * `intake export`: the per-file facts of prisma/file-facts.ts, streamed from a Postgres cursor into CSV
 * (csv-stringify) or Parquet (DuckDB), and to stdout, a file (written beside it and renamed when
 * complete) or S3 under exports/ (a multipart upload, encrypted like every object Intake writes).
 */

export const EXPORT_FORMATS = ['csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type ExportTarget =
  { kind: 'stdout'; stream: OutStream } | { kind: 'file'; path: string; force: boolean } | { kind: 's3' };

export interface ExportRequest {
  since: Date;
  tenantId?: string;
  format: ExportFormat;
  target: ExportTarget;
  /** Rows per cursor fetch. */
  batchSize?: number;
  /** For tests: the time in the S3 key. */
  now?: Date;
}

export interface ExportReport {
  rows: number;
  bytes: number;
  /** The file written, or s3://bucket/key. */
  location: string;
  /** The S3 key, for --to-s3. */
  key?: string;
}

const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

// Multipart parts of 8 MiB, two in flight: at most 16 MiB of an export is buffered for S3.
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** exports/tenant=<id>/… or exports/all/…: a tenant id has no "=", so the two never meet. */
export function exportKey(format: ExportFormat, tenantId: string | undefined, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return storageKeys.export(
    tenantId === undefined ? 'all' : `tenant=${tenantId}`,
    `files-${stamp}-${randomBytes(4).toString('hex')}.${format}`,
  );
}

/** Counts the bytes that pass through, for the report. */
function byteCounter(): { stream: Transform; bytes: () => number } {
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, bytes: () => bytes };
}

function writableOf(out: OutStream): Writable {
  if (out instanceof Writable) return out;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.write(chunk);
      done();
    },
  });
}

/** Runs the export and says what it wrote. Nothing is left under the target's name if it fails. */
export async function exportFiles(request: ExportRequest): Promise<ExportReport> {
  const settings = operatorConfig();
  const { target, format } = request;
  if (target.kind === 'stdout' && format === 'parquet') {
    throw new CliError('Parquet is binary: give --out <file> or --to-s3.', 2);
  }
  if (target.kind === 'file' && !target.force && (await pathExists(target.path))) {
    throw new CliError(`${target.path} exists; pass --force to overwrite it or choose another --out.`);
  }

  let rows = 0;
  async function* counted(): AsyncGenerator<FileFact[]> {
    for await (const batch of readFileFacts(settings.databaseUrl, {
      since: request.since,
      tenantId: request.tenantId,
      batchSize: request.batchSize,
    })) {
      rows += batch.length;
      yield batch;
    }
  }
  async function* facts(): AsyncGenerator<FileFact> {
    for await (const batch of counted()) yield* batch;
  }
  const csv = (destination: Writable, end = true) =>
    pipeline(Readable.from(facts()), csvOfFacts(), destination, { end });

  try {
    switch (target.kind) {
      case 'stdout': {
        const counter = byteCounter();
        await pipeline(Readable.from(facts()), csvOfFacts(), counter.stream, writableOf(target.stream), {
          end: false,
        });
        return { rows, bytes: counter.bytes(), location: 'stdout' };
      }
      case 'file': {
        // Written beside the target, then renamed: a failed or interrupted export leaves no half file
        // under its name (and the rename is atomic on one file system).
        const partial = join(
          dirname(target.path),
          `.${basename(target.path)}.${process.pid}-${randomBytes(3).toString('hex')}.intake-part`,
        );
        try {
          if (format === 'csv') await csv(createWriteStream(partial));
          else await withWorkDir((work) => writeFactsParquet(counted(), partial, work));
          await rename(partial, target.path);
        } catch (error) {
          await rm(partial, { force: true });
          throw error;
        }
        return { rows, bytes: (await stat(target.path)).size, location: target.path };
      }
      case 's3': {
        const key = exportKey(format, request.tenantId, request.now ?? new Date());
        const s3 = createS3Client(settings.s3);
        try {
          const bytes =
            format === 'csv'
              ? await uploadStream(s3, settings.s3.bucket, key, format, (body) => csv(body))
              : await withWorkDir(async (work) => {
                  const file = join(work, 'facts.parquet');
                  await writeFactsParquet(counted(), file, work);
                  return uploadStream(s3, settings.s3.bucket, key, format, (body) =>
                    pipeline(createReadStream(file), body),
                  );
                });
          return { rows, bytes, location: `s3://${settings.s3.bucket}/${key}`, key };
        } finally {
          s3.destroy();
        }
      }
    }
  } catch (error) {
    if (error instanceof UnknownTenantError) throw new CliError(`${error.message}: nothing to export.`);
    throw error;
  }
}

async function withWorkDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'intake-export-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A multipart upload fed by `produce` as it writes: the object appears only when the upload completes,
 * and a failure on either side aborts it, so S3 never shows half an export.
 */
async function uploadStream(
  s3: S3Client,
  bucket: string,
  key: string,
  format: ExportFormat,
  produce: (body: Writable) => Promise<void>,
): Promise<number> {
  const counter = byteCounter();
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: counter.stream, ContentType: CONTENT_TYPE[format] },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
  });
  // Whichever side fails first is the cause; the other then fails for want of its partner.
  let cause: unknown;
  const failed = (error: unknown) => {
    cause ??= error;
    counter.stream.destroy(error as Error);
    throw error;
  };
  const [produced, uploaded] = await Promise.allSettled([
    produce(counter.stream).catch(failed),
    upload.done().catch(failed),
  ]);
  if (produced.status === 'rejected' || uploaded.status === 'rejected') {
    await upload.abort().catch(() => undefined);
    throw cause;
  }
  return counter.bytes();
}
