import { Readable, Transform } from 'node:stream';
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { deleteKeys, getObjectStream, readStream, uploadStream } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import type { Config } from '../config/env';
import { PDF_CONTENT_TYPE, type Rendition } from '../common/domain';
import { canonicalType } from './content-type-rules';
import { decodeHeic, HEIC_TYPES } from './decode-heic';
import { makePdfThumbnail } from './make-pdf-thumbnail';
import type { ActivityDeps } from './deps';
import type { RenditionsInput } from './types';

/** Often enough for the workflow's 30-second heartbeat timeout, however long one large rendition takes. */
const HEARTBEAT_INTERVAL_MS = 5_000;

/** What file-type reads to tell the formats apart. */
const PREFIX_BYTES = 4100;

/** The formats whose files may hold an animation sharp can keep. */
const ANIMATABLE_TYPES: readonly string[] = ['image/gif', 'image/webp'];

/** Where the renditions' pixels come from: one decoder input shared through clone(), and its animation. */
interface Source {
  /** Feeds every rendition; for a streamed original, `feed` is piped into it once the renditions are set up. */
  image: Sharp;
  /** The original's bytes, from the first, when it is streamed rather than read whole. */
  feed: Readable | null;
  frames: number;
  /** Only for an animated original: its first frame, for renditions that cannot animate (AVIF). */
  firstFrame: Sharp | null;
  /** Why the renditions are of the first frame of an animated original, if they are. */
  firstFrameOnly: string | undefined;
}

const reasons = {
  tooManyFrames: (frames: number, limit: number) =>
    `The animation has ${frames} frames, more than the ${limit} a rendition keeps; this is its first frame.`,
  tooManyPixels: (pixels: number, limit: number) =>
    `The animation has ${pixels.toLocaleString('en-US')} pixels over all its frames, more than the ${limit.toLocaleString('en-US')} a rendition keeps; this is its first frame.`,
  stillFormat: (format: string) =>
    `${format.toUpperCase()} renditions are still images; this is the animation's first frame.`,
};

/**
 * Writes one rendition per configured name in its format (WebP or AVIF), streamed to S3 under
 * deterministic keys so a retry overwrites. Auto-oriented from EXIF, never upscaled, sRGB, and stripped
 * of every metadata block except the ICC colour profile (EXIF can carry GPS positions and camera
 * serials). An animated GIF or WebP within the animation budget keeps its frames in WebP renditions.
 * An attempt that fails removes the renditions it wrote: the workflow only knows of renditions a
 * successful attempt returned. A PDF gets only the thumb of its first page (make-pdf-thumbnail.ts).
 */
export async function makeRenditions(deps: ActivityDeps, input: RenditionsInput): Promise<Rendition[]> {
  if (input.contentType === PDF_CONTENT_TYPE) return makePdfThumbnail(deps, input);
  const { config, s3 } = deps;
  const bucket = config.s3.bucket;
  if (config.renditions.length === 0) return [];
  // A cancelled attempt (the file was deleted, the workflow gave up on it) stops reading the original,
  // whether it is still telling the format from the first bytes or already feeding the renditions.
  const cancelled = cancellationSignal();
  const body = await getObjectStream(s3, bucket, input.key);
  const abortRead = () => body.destroy(cancelled.reason as Error);
  cancelled.addEventListener('abort', abortRead, { once: true });
  if (cancelled.aborted) abortRead();
  let source: Source;
  try {
    source = await openSource(config, body);
  } finally {
    cancelled.removeEventListener('abort', abortRead);
  }
  if (cancelled.aborted) throw cancelled.reason;
  const { webp, avif } = config.renditionEncoding;

  const outputs: Sharp[] = [];
  const jobs = config.renditions.map(async ({ name, maxEdge, format }) => {
    const key = storageKeys.rendition(input.tenantId, input.fileId, name, format);
    // sharp writes an animated AVIF as one tall still of every frame stacked, so AVIF takes frame one.
    const still = format === 'avif' && source.firstFrame !== null;
    const from = still ? source.firstFrame! : source.image;
    const sized = from.clone().resize({ width: maxEdge, height: maxEdge, fit: 'inside', withoutEnlargement: true });
    // keepIccProfile converts a CMYK original to sRGB and embeds sRGB, rather than a CMYK profile on RGB pixels.
    const coloured = sized.keepIccProfile();
    const output =
      format === 'avif'
        ? coloured.avif({ quality: avif.quality, effort: avif.effort })
        : coloured.webp({ quality: webp.quality, effort: webp.effort });
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
    await uploadStream(s3, bucket, key, counted, `image/${format}`);
    const { width, height, pageHeight } = await info;
    heartbeat({ rendition: name });
    const frames = still ? 1 : source.frames;
    const firstFrameOnly = still ? reasons.stillFormat(format) : source.firstFrameOnly;
    return {
      name,
      key,
      format,
      width,
      height: frames > 1 && pageHeight ? pageHeight : height,
      size,
      frames,
      ...(firstFrameOnly ? { firstFrameOnly } : {}),
    };
  });
  // Cancelled now, the attempt also fails the unfinished renditions; uploads already under way are awaited
  // and removed with the rest below, so no rendition outlives the attempt.
  const { feed } = source;
  const failRenditions = (error: Error) => {
    if (feed) {
      feed.unpipe(source.image);
      feed.destroy();
      body.destroy();
    }
    for (const output of outputs) output.destroy(error);
  };
  const stop = () => failRenditions(cancelled.reason as Error);
  // S3 breaking off mid-read fails every rendition with its error, so the attempt fails (and is retried)
  // at once. Destroying the shared decoder input instead left its 'error' unheard, an uncaught exception
  // that took the whole worker down, and the renditions waiting for input that never came.
  feed?.on('error', failRenditions);
  source.image.on('error', failRenditions);
  feed?.pipe(source.image);
  cancelled.addEventListener('abort', stop, { once: true });
  if (cancelled.aborted) stop();
  heartbeat();
  const beating = setInterval(() => heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed && !cancelled.aborted) return results.map((r) => (r as PromiseFulfilledResult<Rendition>).value);
    const keys = config.renditions.map(({ name, format }) =>
      storageKeys.rendition(input.tenantId, input.fileId, name, format),
    );
    // The attempt's own error is the one to report; a rendition left behind by a failed clean-up is
    // overwritten by the next attempt or removed with the file.
    await deleteKeys(s3, bucket, keys).catch(() => undefined);
    throw cancelled.aborted ? cancelled.reason : failed?.reason;
  } finally {
    clearInterval(beating);
    cancelled.removeEventListener('abort', stop);
  }
}

/**
 * Streams the original into sharp where it can (JPEG, PNG, TIFF, AVIF decode as they arrive), its
 * format told from the first bytes of the same read. HEIC must be whole for its WebAssembly decoder, and
 * a GIF or WebP is read whole to count its frames before deciding whether to keep them; both are within
 * the upload limit, which validation already checked, and their pixels within the pixel limit and the
 * animation budget.
 */
async function openSource(config: Config, body: Readable): Promise<Source> {
  const { maxPixels, maxUploadBytes } = config.limits;
  const head = await readHead(body, PREFIX_BYTES);
  const magic = await fileTypeFromBuffer(head);
  const type = magic ? canonicalType(magic.mime) : null;
  const readWhole = async () => Buffer.concat([head, await readStream(body, maxUploadBytes)]);
  const still = { feed: null, frames: 1, firstFrame: null, firstFrameOnly: undefined };

  if (type !== null && HEIC_TYPES.includes(type)) {
    return { ...still, image: await decodeHeic(await readWhole(), maxPixels) };
  }
  if (type !== null && ANIMATABLE_TYPES.includes(type)) {
    const bytes = await readWhole();
    const decodeOptions = { limitInputPixels: maxPixels, failOn: 'warning' as const };
    const meta = await sharp(bytes, { animated: true, limitInputPixels: false }).metadata();
    const frames = meta.pages ?? 1;
    const frameOne = () => sharp(bytes, decodeOptions).autoOrient();
    if (frames <= 1) return { ...still, image: frameOne() };
    const budget = animationVerdict(config, frames, (meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0));
    if (budget) return { ...still, image: frameOne(), firstFrameOnly: budget };
    // Every frame counts against the animation budget checked above, not the single-image pixel limit.
    const image = sharp(bytes, { animated: true, failOn: 'warning', limitInputPixels: false });
    return { ...still, image, frames, firstFrame: frameOne() };
  }
  const image = sharp({ limitInputPixels: maxPixels, failOn: 'warning' }).autoOrient();
  const feed = Readable.from(
    (async function* () {
      yield head;
      yield* body;
    })(),
    { objectMode: false },
  );
  return { ...still, image, feed };
}

/**
 * The body's first `bytes` (fewer for a shorter file), leaving the body paused after them. A failed or
 * cancelled read rejects.
 */
function readHead(body: Readable, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (error?: Error) => {
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      body.pause();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) settle();
    };
    const onEnd = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error('the original stopped before its first bytes arrived'));
    body.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** Why an animation is past the budget, or null when its frames are kept. */
function animationVerdict(config: Config, frames: number, framePixels: number): string | null {
  const { maxFrames, maxPixels } = config.renditionEncoding.animation;
  if (frames > maxFrames) return reasons.tooManyFrames(frames, maxFrames);
  if (frames * framePixels > maxPixels) return reasons.tooManyPixels(frames * framePixels, maxPixels);
  return null;
}
