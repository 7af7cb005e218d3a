import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { Upload } from '@aws-sdk/lib-storage';
import busboy from 'busboy';
import { discardObject } from '../lib/s3-objects';
import { normaliseContentType } from '../services/upload-fields';

// Re-exported for the routes that parse declared types beside this module (batches, direct uploads).
export { normaliseContentType };
import type { ReceivedUpload, UploadTarget } from '../services/accept-upload';
import { ApiError } from './errors';

/**
 * Parts of 5 MiB (S3's minimum), three in flight: memory stays near 15 MiB whatever the size of the
 * upload (bench: 8 MiB × 4 gave the same MB/s with more RSS).
 */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 3;
/** Room for multipart boundaries and part headers when comparing Content-Length with the limit. */
const MULTIPART_OVERHEAD = 64 * 1024;

export const tooLarge = (maxBytes: number) =>
  new ApiError('payload_too_large', `The upload exceeds the limit of ${maxBytes} bytes`, { Connection: 'close' });

/** Counts bytes on their way to S3 and fails the stream as soon as the limit is crossed. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) callback(tooLarge(this.maxBytes));
    else callback(null, chunk);
  }
}

/**
 * Streams a body to S3 with a multipart upload, counting bytes. Over the limit the stream fails, the
 * multipart upload is aborted (leavePartsOnError: false) and any object is deleted before the 413.
 */
export async function streamToS3(body: Readable, target: UploadTarget): Promise<number> {
  const counter = new ByteLimit(target.maxBytes);
  body.on('error', (error) => counter.destroy(error));
  body.pipe(counter);
  const upload = new Upload({
    client: target.s3,
    params: { Bucket: target.bucket, Key: target.key, Body: counter, ContentType: 'application/octet-stream' },
    queueSize: QUEUE_SIZE,
    partSize: PART_SIZE,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
    return counter.bytes;
  } catch (error) {
    body.unpipe(counter);
    counter.destroy();
    await discardObject(target);
    throw error;
  }
}

/** Refuses a body whose declared length already exceeds the limit (plus any framing overhead). */
function checkContentLength(request: Request, maxBytes: number, overhead = 0): void {
  const header = request.headers.get('content-length');
  // The message names the configured limit, not the limit plus the multipart allowance.
  if (header !== null && /^\d+$/.test(header) && Number(header) > maxBytes + overhead) throw tooLarge(maxBytes);
}

export function requestBody(request: Request): Readable {
  if (!request.body) return Readable.from([]);
  return Readable.fromWeb(request.body as unknown as NodeWebReadableStream<Uint8Array>);
}

/** A raw body: the bytes are the file; metadata comes from the query string. */
export async function receiveRawUpload(request: Request, target: UploadTarget): Promise<ReceivedUpload> {
  checkContentLength(request, target.maxBytes);
  const size = await streamToS3(requestBody(request), target);
  return {
    filename: null,
    declaredContentType: normaliseContentType(request.headers.get('content-type')),
    size,
    fields: {},
  };
}

/**
 * multipart/form-data parsed as a stream with busboy: the `file` part goes straight to S3 and is never
 * buffered whole. Text fields may come before or after the file, so they are returned once the body
 * has been read completely.
 */
export async function receiveMultipartUpload(request: Request, target: UploadTarget): Promise<ReceivedUpload> {
  checkContentLength(request, target.maxBytes, MULTIPART_OVERHEAD);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
      limits: { fields: 32, fieldSize: 16 * 1024, parts: 64 },
      // Browsers and curl send filenames as raw UTF-8 bytes; busboy's default would read them as latin1.
      defParamCharset: 'utf8',
    });
  } catch (error) {
    throw new ApiError('invalid_request', `Malformed multipart body: ${(error as Error).message}`);
  }
  const source = requestBody(request);

  return new Promise<ReceivedUpload>((resolve, reject) => {
    const fields: Record<string, string[]> = {};
    let filePart: { filename: string | null; declaredContentType: string | null; done: Promise<number> } | null = null;
    let problem: ApiError | null = null;
    let settled = false;
    let fileStream: Readable | null = null;

    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      // A half-read file part would otherwise keep its S3 upload waiting for bytes that never come.
      fileStream?.destroy(error instanceof Error ? error : new Error(String(error)));
      // Stop reading: the client may still be sending a huge body we have already refused.
      source.unpipe(parser);
      source.resume();
      reject(error);
    };

    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || filePart) {
        problem ??= new ApiError(
          'invalid_request',
          name === 'file' ? 'Send exactly one file per request' : `Unexpected file field "${name}"; use "file"`,
        );
        stream.resume();
        return;
      }
      fileStream = stream;
      const done = streamToS3(stream, target);
      done.catch(fail);
      filePart = { filename: info.filename ?? null, declaredContentType: normaliseContentType(info.mimeType), done };
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        problem ??= new ApiError('invalid_request', `Field "${name}" is too long`);
        return;
      }
      (fields[name] ??= []).push(value);
    });
    parser.on('partsLimit', () => (problem ??= new ApiError('invalid_request', 'Too many parts')));
    parser.on('fieldsLimit', () => (problem ??= new ApiError('invalid_request', 'Too many fields')));
    parser.on('error', (error: Error) => {
      fail(new ApiError('invalid_request', `Malformed multipart body: ${error.message}`));
      // The file part, if any, was cut short: make sure nothing it wrote is kept.
      void discardObject(target);
    });
    parser.on('close', () => {
      const part = filePart;
      if (!part) {
        fail(problem ?? new ApiError('invalid_request', 'The multipart body has no "file" field'));
        return;
      }
      part.done.then(async (size) => {
        if (settled) return;
        if (problem) {
          await discardObject(target);
          fail(problem);
          return;
        }
        settled = true;
        resolve({ filename: part.filename, declaredContentType: part.declaredContentType, size, fields });
      }, fail);
    });
    source.on('error', (error) =>
      fail(new ApiError('invalid_request', `The request body broke off: ${error.message}`)),
    );
    source.pipe(parser);
  });
}
