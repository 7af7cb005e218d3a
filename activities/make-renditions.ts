import { Transform } from 'node:stream';
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { deleteKeys, getObjectStream, uploadStream } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import type { Rendition } from '../common/domain';
import type { ActivityDeps } from './deps';
import type { RenditionsInput } from './types';

/** Often enough for the workflow's 30-second heartbeat timeout, however long one large rendition takes. */
const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * Writes one WebP per configured rendition, streamed to S3 under deterministic keys so a retry
 * overwrites. Auto-oriented from EXIF, never upscaled, and stripped of every metadata block except the
 * ICC colour profile (EXIF can carry GPS positions and camera serials). An attempt that fails removes
 * the renditions it wrote: the workflow only knows of renditions a successful attempt returned.
 */
export async function makeRenditions(deps: ActivityDeps, input: RenditionsInput): Promise<Rendition[]> {
  const { config, s3 } = deps;
  const bucket = config.s3.bucket;
  if (config.renditions.length === 0) return [];
  const body = await getObjectStream(s3, bucket, input.key);
  // One decoder input shared by every rendition through clone(): the original is read from S3 once.
  const source = sharp({ limitInputPixels: config.limits.maxPixels, failOn: 'warning' }).autoOrient();

  const outputs: Sharp[] = [];
  const jobs = config.renditions.map(async ({ name, maxEdge }) => {
    const key = storageKeys.rendition(input.tenantId, input.fileId, name);
    const output = source
      .clone()
      .resize({ width: maxEdge, height: maxEdge, fit: 'inside', withoutEnlargement: true })
      .keepIccProfile()
      .webp();
    outputs.push(output);
    const info = new Promise<OutputInfo>((resolve) => output.once('info', resolve));
    let size = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(null, chunk);
      },
    });
    output.on('error', (error) => counted.destroy(error));
    output.pipe(counted);
    await uploadStream(s3, bucket, key, counted, 'image/webp');
    const { width, height } = await info;
    heartbeat({ rendition: name });
    return { name, key, format: 'webp' as const, width, height, size };
  });
  // A cancelled attempt (the file was deleted, the workflow gave up on it) stops reading the original and
  // fails the unfinished renditions; uploads already under way are awaited and removed with the rest
  // below, so no rendition outlives the attempt.
  const cancelled = cancellationSignal();
  const failRenditions = (error: Error) => {
    body.unpipe(source);
    body.destroy();
    for (const output of outputs) output.destroy(error);
  };
  const stop = () => failRenditions(cancelled.reason as Error);
  // S3 breaking off mid-read fails every rendition with its error, so the attempt fails (and is retried)
  // at once. Destroying the shared decoder input instead left its 'error' unheard, an uncaught exception
  // that took the whole worker down, and the renditions waiting for input that never came.
  body.on('error', failRenditions);
  source.on('error', failRenditions);
  body.pipe(source);
  cancelled.addEventListener('abort', stop, { once: true });
  if (cancelled.aborted) stop();
  heartbeat();
  const beating = setInterval(() => heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed && !cancelled.aborted) return results.map((r) => (r as PromiseFulfilledResult<Rendition>).value);
    const keys = config.renditions.map(({ name }) => storageKeys.rendition(input.tenantId, input.fileId, name));
    // The attempt's own error is the one to report; a rendition left behind by a failed clean-up is
    // overwritten by the next attempt or removed with the file.
    await deleteKeys(s3, bucket, keys).catch(() => undefined);
    throw cancelled.aborted ? cancelled.reason : failed?.reason;
  } finally {
    clearInterval(beating);
    cancelled.removeEventListener('abort', stop);
  }
}
