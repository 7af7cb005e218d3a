import type { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import sharp from 'sharp';
import { getObjectStream, isNotFound, readObjectPrefix, readStream } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import {
  TextSniffer,
  canonicalType,
  declarationMatches,
  isImageType,
  normalizeDeclaredType,
  rejectionReasons,
} from './content-type-rules';
import { rejected } from '../common/failures';
import { applyPinnedSchema } from './apply-json-schema';
import { decodeHeic, HEIC_TYPES, HeicTooLarge } from './decode-heic';
import { validatePdf } from './validate-pdf';
import type { ActivityDeps } from './deps';
import type { ValidateInput, ValidateResult } from './types';

/**
 * One ranged read covers magic-number detection and, for nearly every image, the header with its
 * dimensions (JPEG headers sit behind EXIF/ICC segments of up to 64 KB each).
 */
const PREFIX_BYTES = 1024 * 1024;

/**
 * Decides the file's type from its bytes alone and rejects what Intake must not accept. The declared
 * type is only checked against the content, never trusted.
 */
export async function validateFile(deps: ActivityDeps, input: ValidateInput): Promise<ValidateResult> {
  const { config, s3 } = deps;
  const { limits } = config;
  const bucket = config.s3.bucket;
  // A direct upload's bytes never passed the API: what its client declared is only a claim until here.
  if (input.declared) {
    const { size, sha256 } = input.declared;
    if (input.size !== size) throw rejected(rejectionReasons.sizeMismatch(size, input.size));
    if (sha256 !== null && input.sha256 !== sha256) {
      throw rejected(rejectionReasons.checksumMismatch(sha256, input.sha256 ?? 'nothing'));
    }
  }
  if (input.size > limits.maxUploadBytes) throw rejected(rejectionReasons.tooLarge(input.size, limits.maxUploadBytes));

  const declared = normalizeDeclaredType(input.declaredContentType);
  // An empty object has no byte range to ask for (S3 answers 416), so skip the read.
  // Read from the incoming area, or from storage when this is a re-run after the store step moved the
  // file (see scanFile: a timed-out workflow task re-runs its local activities).
  let key = input.key;
  const readPrefix = async () => {
    try {
      return await readObjectPrefix(s3, bucket, key, PREFIX_BYTES);
    } catch (error) {
      const stored = storageKeys.storedOriginalOf(key);
      if (!isNotFound(error) || stored === null) throw error;
      key = stored;
      return readObjectPrefix(s3, bucket, key, PREFIX_BYTES);
    }
  };
  const prefix = input.size === 0 ? Buffer.alloc(0) : await readPrefix();
  const wholeFileInPrefix = prefix.length >= input.size;
  const openBody = (): Promise<Readable> => getObjectStream(s3, bucket, key);

  const magic = await fileTypeFromBuffer(prefix);
  const detected = magic
    ? canonicalType(magic.mime)
    : await detectTextType(declared, wholeFileInPrefix ? prefix : await openBody(), limits.allowedTypes);

  if (!declarationMatches(declared, detected)) throw rejected(rejectionReasons.mismatch(declared ?? '', detected));
  if (!(limits.allowedTypes as readonly string[]).includes(detected)) {
    throw rejected(rejectionReasons.notAllowed(detected, limits.allowedTypes));
  }
  await applyPinnedSchema(deps, { fileId: input.fileId, size: input.size, contentType: detected }, async () =>
    wholeFileInPrefix ? prefix : openBody(),
  );
  if (detected === 'application/pdf') {
    const bytes = wholeFileInPrefix ? prefix : await readStream(await openBody(), limits.maxUploadBytes);
    return validatePdf(deps, input.fileId, bytes);
  }
  if (!isImageType(detected)) return { contentType: detected, isImage: false, width: null, height: null };

  const whole = async () => (wholeFileInPrefix ? prefix : readStream(await openBody(), limits.maxUploadBytes));
  const header = (await readImageHeader(prefix)) ?? (wholeFileInPrefix ? null : await readImageHeader(await whole()));
  if (!header) throw rejected(rejectionReasons.unreadableImageHeader(detected));
  if (header.width * header.height > limits.maxPixels) {
    throw rejected(rejectionReasons.tooManyPixels(header.width, header.height, limits.maxPixels));
  }

  // Only now, with the pixel count known to be within limits, decode every pixel once.
  const decodeError = HEIC_TYPES.includes(detected)
    ? await heicDecodeFailure(await whole(), limits.maxPixels)
    : await decodeFailure(wholeFileInPrefix ? prefix : await openBody(), limits.maxPixels);
  if (decodeError) throw rejected(rejectionReasons.undecodableImage(detected, decodeError));
  return { contentType: detected, isImage: true, width: header.width, height: header.height };
}

/** Content no magic number matched: text/plain or application/json, or a rejection. */
async function detectTextType(
  declared: string | null,
  body: Buffer | Readable,
  allowed: readonly string[],
): Promise<string> {
  const declaredJson = declared === 'application/json' || (declared?.endsWith('+json') ?? false);
  const sniffer = new TextSniffer(declaredJson);
  if (Buffer.isBuffer(body)) sniffer.push(body);
  else {
    for await (const chunk of body) {
      sniffer.push(chunk as Buffer);
      // Leaving the loop destroys the stream, so a binary file is not read to its end.
      if (sniffer.failed) break;
    }
  }
  const verdict = sniffer.finish();
  const declaredText = declaredJson || (declared?.startsWith('text/') ?? false);
  switch (verdict.kind) {
    case 'json':
      return 'application/json';
    case 'text':
      return 'text/plain';
    case 'invalid-json':
      throw rejected(rejectionReasons.invalidJson(verdict.detail));
    case 'json-too-large':
      throw rejected(rejectionReasons.jsonTooLarge(verdict.limitChars));
    case 'not-utf8':
      throw rejected(declaredText ? rejectionReasons.invalidUtf8() : rejectionReasons.unrecognised(allowed));
    case 'has-nul':
      throw rejected(declaredText ? rejectionReasons.containsNul() : rejectionReasons.unrecognised(allowed));
  }
}

/** Display dimensions (after EXIF orientation) read from the header; pixels are not decoded. */
async function readImageHeader(bytes: Buffer): Promise<{ width: number; height: number } | null> {
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    const width = meta.autoOrient?.width ?? meta.width;
    const height = meta.autoOrient?.height ?? meta.height;
    return width && height ? { width, height } : null;
  } catch {
    return null;
  }
}

/** Why the image does not decode, or null when every pixel decodes cleanly. */
async function decodeFailure(source: Buffer | Readable, maxPixels: number): Promise<string | null> {
  // failOn 'warning' turns libvips/libjpeg warnings such as "premature end of data" into errors.
  const options = { limitInputPixels: maxPixels, failOn: 'warning' as const };
  let readError: unknown = null;
  try {
    if (Buffer.isBuffer(source)) {
      await sharp(source, options).stats();
    } else {
      const image = sharp(options);
      source.on('error', (error) => {
        readError = error;
        image.destroy(error);
      });
      source.pipe(image);
      await image.stats();
    }
    return null;
  } catch (error) {
    // A failed S3 read is infrastructure, not a bad image: let it throw so the activity is retried.
    if (readError) throw readError;
    return (error as Error).message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  }
}

/** As decodeFailure, for HEIC/HEIF, which sharp cannot decode; the pixel limit is checked on its own header too. */
async function heicDecodeFailure(bytes: Buffer, maxPixels: number): Promise<string | null> {
  try {
    await (await decodeHeic(bytes, maxPixels)).stats();
    return null;
  } catch (error) {
    if (error instanceof HeicTooLarge)
      throw rejected(rejectionReasons.tooManyPixels(error.width, error.height, maxPixels));
    return (error as Error).message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  }
}
