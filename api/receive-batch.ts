import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import busboy from 'busboy';
import { discardObject } from '../lib/s3-objects';
import type { BatchTarget, ReceivedBatch, ReceivedPart } from '../services/accept-batch';
import { ApiError } from './errors';
import { normaliseContentType, requestBody, streamToS3, tooLarge } from './receive-upload';

const EMPTY = 'The uploaded file is empty (0 bytes)';

/** Parts besides the files: the options (a few fields, repeated tags). */
const MAX_FIELDS = 64;

/**
 * A batch in one multipart/form-data body: every `file` part streams to S3 as it arrives (one
 * multipart upload each, bounded memory as for single uploads); the option fields may come before or
 * after them. A part that is too large is cut off and becomes that file's refusal, not the request's:
 * the other parts go on. A body that breaks (bad framing, the client gone, too many files) fails the
 * whole request, and every object its parts wrote is removed before the error is answered.
 *
 * Without `target.store` the parts are only counted (a replay with the same Idempotency-Key reads the
 * body, as HTTP requires, to compare it with the first).
 */
export async function receiveBatch(request: Request, target: BatchTarget): Promise<ReceivedBatch> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
      limits: { files: target.maxFiles, fields: MAX_FIELDS, fieldSize: 16 * 1024, parts: target.maxFiles + MAX_FIELDS },
      defParamCharset: 'utf8',
    });
  } catch (error) {
    throw new ApiError('invalid_request', `Malformed multipart body: ${(error as Error).message}`);
  }
  const source = requestBody(request);

  const parts: ReceivedPart[] = [];
  const pending: Promise<void>[] = [];
  const fields: Record<string, string[]> = {};
  let problem: ApiError | null = null;
  let current: Readable | null = null;
  let settled = false;

  /** Every object a part wrote, removed once no part is still writing. */
  const discardAll = async () => {
    await Promise.allSettled(pending);
    if (target.store) {
      await Promise.allSettled(parts.map((part) => discardObject({ ...target, key: part.key })));
    }
  };

  return new Promise<ReceivedBatch>((resolve, reject) => {
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      current?.destroy(error instanceof Error ? error : new Error(String(error)));
      // Stop parsing; the client may still be sending a body already refused.
      source.unpipe(parser);
      source.resume();
      void discardAll().then(() => reject(error));
    };

    parser.on('file', (name, stream, info) => {
      if (settled || name !== 'file') {
        problem ??= new ApiError('invalid_request', `Unexpected file field "${name}"; use "file" for every file`);
        stream.resume();
        return;
      }
      const fileId = target.newFileId();
      const part: ReceivedPart = {
        fileId,
        key: target.keyFor(fileId),
        filename: info.filename ?? null,
        declaredContentType: normaliseContentType(info.mimeType),
        size: 0,
        refusal: null,
      };
      parts.push(part);
      current = stream;
      pending.push(receivePart(stream, part, target).catch(fail));
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        problem ??= new ApiError('invalid_request', `Field "${name}" is too long`);
        return;
      }
      (fields[name] ??= []).push(value);
    });
    parser.on('filesLimit', () =>
      fail(
        new ApiError('payload_too_large', `A batch takes at most ${target.maxFiles} files (INTAKE_MAX_BATCH_FILES)`, {
          Connection: 'close',
        }),
      ),
    );
    parser.on('partsLimit', () => (problem ??= new ApiError('invalid_request', 'Too many parts')));
    parser.on('fieldsLimit', () => (problem ??= new ApiError('invalid_request', 'Too many fields')));
    parser.on('error', (error: Error) =>
      fail(new ApiError('invalid_request', `Malformed multipart body: ${error.message}`)),
    );
    parser.on('close', () => {
      void Promise.all(pending).then(() => {
        if (settled) return;
        if (problem) return fail(problem);
        if (parts.length === 0) return fail(new ApiError('invalid_request', 'The multipart body has no "file" field'));
        settled = true;
        resolve({ parts, fields });
      });
    });
    source.on('error', (error) =>
      fail(new ApiError('invalid_request', `The request body broke off: ${error.message}`)),
    );
    source.pipe(parser);
  });
}

/**
 * One part to its object (or, without `store`, only counted). Too large: the object is removed, the
 * rest of the part is read and dropped, and the part carries its refusal. Any other failure (S3 down)
 * rejects, failing the request.
 */
async function receivePart(stream: Readable, part: ReceivedPart, target: BatchTarget): Promise<void> {
  if (!target.store) {
    const counter = new PassThrough();
    counter.on('data', (chunk: Buffer) => (part.size += chunk.length));
    stream.pipe(counter);
    await finished(counter);
    // Refused as the stored parts are, so a replay compares like with like.
    if (part.size > target.maxBytes) part.refusal = tooLarge(target.maxBytes).message;
    if (part.size === 0) part.refusal = EMPTY;
    return;
  }
  try {
    part.size = await streamToS3(stream, { ...target, key: part.key });
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'payload_too_large')) throw error;
    // Read the rest of the part (and so reach the next one) without keeping it.
    stream.resume();
    await finished(stream).catch(() => undefined);
    part.size = target.maxBytes + 1;
    part.refusal = tooLarge(target.maxBytes).message;
    return;
  }
  if (part.size === 0) {
    await discardObject({ ...target, key: part.key });
    part.refusal = EMPTY;
  }
}
