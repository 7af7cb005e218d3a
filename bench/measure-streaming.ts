import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { REPO_ROOT } from '../infra/tools';
import { rssOf, sampleRss } from './processes';
import { seededRandom } from './images';

const CHUNK = 1024 * 1024;
const POOL_CHUNKS = 16;

let pool: Buffer | undefined;
/** 16 MiB of seeded noise (incompressible), generated once and cycled through. */
function noisePool(): Buffer {
  if (pool) return pool;
  const random = seededRandom(424242);
  pool = Buffer.alloc(CHUNK * POOL_CHUNKS);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE(Math.floor(random() * 4294967296), i);
  return pool;
}

/**
 * `bytes` of data made on the fly, 1 MiB at a time, so neither side ever holds the body: the only
 * memory the upload can cost is what the server under test keeps.
 */
export function generatedBody(bytes: number): Readable {
  const source = noisePool();
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK, bytes - sent);
      const offset = (index++ % POOL_CHUNKS) * CHUNK;
      sent += size;
      this.push(source.subarray(offset, offset + size));
    },
  });
}

export interface StreamingRun {
  bytes: number;
  elapsedMs: number;
  mbPerSecond: number;
  /** Peak RSS minus RSS just before the upload, of the process that received the bytes. */
  rssGrowthBytes: number;
  rssBeforeBytes: number;
  rssPeakBytes: number;
}

const MB = 1_000_000;

/** A raw-body upload through the API over plain HTTP with Content-Length, sampling the API's RSS. */
export async function uploadThroughApi(options: {
  apiUrl: string;
  apiKey: string;
  apiPid: number;
  bytes: number;
}): Promise<StreamingRun & { fileId: string; workflowId: string }> {
  const { apiUrl, apiKey, apiPid, bytes } = options;
  const before = rssOf(apiPid);
  const sampler = sampleRss(apiPid, 50);
  const started = performance.now();
  const url = new URL('/v1/files?filename=huge.bin', apiUrl);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${apiKey}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(bytes),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    generatedBody(bytes).pipe(req);
  });
  const elapsedMs = performance.now() - started;
  const { peak } = sampler.stop();
  if (answer.status !== 202)
    throw new Error(`the 1 GiB upload answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  const accepted = JSON.parse(answer.body) as { id: string; workflowId: string };
  return {
    bytes,
    elapsedMs,
    mbPerSecond: bytes / MB / (elapsedMs / 1000),
    rssGrowthBytes: peak - before,
    rssBeforeBytes: before,
    rssPeakBytes: peak,
    fileId: accepted.id,
    workflowId: accepted.workflowId,
  };
}

/**
 * The same bytes straight to the same S3 server with @aws-sdk/lib-storage, using the API's own part
 * size and parallelism (5 MiB × 3), so the difference is what the HTTP hop through the API costs.
 */
export async function uploadDirect(options: {
  s3: S3Client;
  bucket: string;
  key: string;
  bytes: number;
}): Promise<StreamingRun> {
  // Made first: the 16 MiB noise pool is the client's, not part of what the upload costs.
  const body = generatedBody(options.bytes);
  const before = rssOf(process.pid);
  const sampler = sampleRss(process.pid, 50);
  const started = performance.now();
  await new Upload({
    client: options.s3,
    params: { Bucket: options.bucket, Key: options.key, Body: body },
    partSize: 5 * 1024 * 1024,
    queueSize: 3,
    leavePartsOnError: false,
  }).done();
  const elapsedMs = performance.now() - started;
  const { peak } = sampler.stop();
  return {
    bytes: options.bytes,
    elapsedMs,
    mbPerSecond: options.bytes / MB / (elapsedMs / 1000),
    rssGrowthBytes: peak - before,
    rssBeforeBytes: before,
    rssPeakBytes: peak,
  };
}

/** uploadDirect in a fresh child process (see direct-upload-child.ts), so its RSS is lib-storage's alone. */
export async function uploadDirectInChild(options: {
  env: NodeJS.ProcessEnv;
  key: string;
  bytes: number;
}): Promise<StreamingRun> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'bench', 'direct-upload-child.ts'), options.key, String(options.bytes)],
    { env: options.env, cwd: REPO_ROOT, maxBuffer: 1024 * 1024 },
  );
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as StreamingRun;
}
