import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Upload, type DetailedError } from 'tus-js-client';
import { apiErrorOf, jsonOf, type Connection } from '../api-client';
import { ApiError, CliError, UnreachableError } from '../errors';
import type { LocalFile } from './collect-files';

export interface UploadSettings {
  tags: string[];
  retention?: string;
  callbackUrl?: string;
  /** Files of this size and more go through tus (/v1/tus/), resumable; smaller ones in one POST. */
  resumableFrom: number;
}

export interface SentFile {
  id: string;
  via: 'post' | 'tus';
}

/** tus PATCH size: each is one resumable step; the file is read from disk slice by slice. */
const TUS_CHUNK_BYTES = 16 * 2 ** 20;
const ATTEMPTS = 5;

/** Sends one file, streamed from disk; `onBytes` hears the bytes sent so far (restarting at 0 on a retry). */
export function sendFile(
  connection: Connection,
  file: LocalFile,
  settings: UploadSettings,
  onBytes: (sent: number) => void,
): Promise<SentFile> {
  return file.size >= settings.resumableFrom && file.size > 0
    ? sendWithTus(connection, file, settings, onBytes)
    : sendInOnePost(connection, file, settings, onBytes);
}

/** The file's bytes as a web stream, read in 1 MiB chunks and counted as they go out. */
function countedStream(path: string, onBytes: (sent: number) => void): ReadableStream<Uint8Array> {
  let sent = 0;
  async function* chunks() {
    for await (const chunk of createReadStream(path, { highWaterMark: 2 ** 20 })) {
      sent += (chunk as Buffer).length;
      onBytes(sent);
      yield chunk as Uint8Array;
    }
  }
  return ReadableStream.from(chunks());
}

/**
 * POST /v1/files with the raw bytes as the body (streamed, never held whole). One Idempotency-Key per
 * file makes a retry after a lost answer return the same file; 429 and 503 wait for Retry-After.
 */
async function sendInOnePost(
  connection: Connection,
  file: LocalFile,
  settings: UploadSettings,
  onBytes: (sent: number) => void,
): Promise<SentFile> {
  const idempotencyKey = `intake-cli-${randomUUID()}`;
  for (let attempt = 1; ; attempt++) {
    onBytes(0);
    try {
      const response = await connection.api.v1.files.$post(
        {
          query: {
            filename: file.filename,
            ...(settings.tags.length ? { tags: settings.tags.join(',') } : {}),
            ...(settings.retention ? { retention: settings.retention } : {}),
            ...(settings.callbackUrl ? { callbackUrl: settings.callbackUrl } : {}),
          },
          header: { 'idempotency-key': idempotencyKey },
        },
        {
          headers: { 'Content-Type': file.contentType },
          // A stream body needs duplex 'half' in Node's fetch; the bytes then go out as they are read.
          init: { body: countedStream(file.path, onBytes), duplex: 'half' } as RequestInit,
        },
      );
      const accepted = await jsonOf(response);
      onBytes(file.size);
      return { id: accepted.id, via: 'post' };
    } catch (error) {
      const delay = retryDelayMs(error, attempt);
      if (delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function retryDelayMs(error: unknown, attempt: number): number | undefined {
  if (attempt >= ATTEMPTS) return undefined;
  if (error instanceof ApiError && [429, 502, 503, 504].includes(error.status)) {
    return (error.retryAfterSeconds ?? attempt) * 1_000;
  }
  // The connection broke mid-body: the Idempotency-Key makes sending again safe.
  if (error instanceof UnreachableError) return attempt * 1_000;
  return undefined;
}

/**
 * tus 1.0 with tus-js-client: given an fs.ReadStream with a path, it reads each PATCH's slice from
 * disk, so memory stays at one chunk's buffers whatever the size, and a broken PATCH resumes at the
 * offset the server reports. The final PATCH's Intake-File-Id names the file.
 */
function sendWithTus(
  connection: Connection,
  file: LocalFile,
  settings: UploadSettings,
  onBytes: (sent: number) => void,
): Promise<SentFile> {
  return new Promise((resolve, reject) => {
    let fileId: string | undefined;
    const metadata: Record<string, string> = { filename: file.filename, filetype: file.contentType };
    if (settings.tags.length) metadata.tags = settings.tags.join(',');
    if (settings.retention) metadata.retention = settings.retention;
    if (settings.callbackUrl) metadata.callbackUrl = settings.callbackUrl;
    const upload = new Upload(createReadStream(file.path), {
      endpoint: `${connection.url}/v1/tus/`,
      uploadSize: file.size,
      chunkSize: TUS_CHUNK_BYTES,
      headers: { Authorization: `Bearer ${connection.apiKey}` },
      metadata,
      retryDelays: [0, 1_000, 3_000, 5_000, 10_000],
      onProgress: (sent) => onBytes(sent),
      onAfterResponse: (_request, response) => {
        fileId = response.getHeader('Intake-File-Id') ?? fileId;
      },
      onSuccess: () => {
        if (fileId) resolve({ id: fileId, via: 'tus' });
        else reject(new CliError(`${file.display}: the tus upload finished without an Intake-File-Id`));
      },
      onError: (error) => {
        void tusFailure(connection.url, error).then(reject);
      },
    });
    upload.start();
  });
}

/** tus-js-client's error as the API's own message, or as "cannot reach" when no answer came. */
async function tusFailure(url: string, error: Error | DetailedError): Promise<CliError> {
  const response = 'originalResponse' in error ? error.originalResponse : null;
  if (!response) return new UnreachableError(`cannot reach Intake at ${url} (${error.message})`);
  const body = response.getBody();
  return apiErrorOf(
    new Response(typeof body === 'string' ? body : '', {
      status: response.getStatus(),
      headers: { 'x-request-id': response.getHeader('X-Request-Id') ?? '' },
    }),
  );
}
