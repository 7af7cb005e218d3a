import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Context } from 'hono';
import { isNotFound } from '../lib/s3-objects';
import type { AppEnv } from './types';
import { callDependency } from './dependencies';
import { ApiError } from './errors';

/** Presigned download URLs are short-lived: long enough to start a download, short enough to not leak. */
export const PRESIGN_TTL_SECONDS = 300;

/** What the API's own downloads carry: behind a key, so no shared cache may keep them. */
export const PRIVATE_NO_STORE = 'private, no-store';
/**
 * Renditions: a rendition's key is written once from the original and never changes content, so a client
 * may keep it for a year without asking again. Private still: it is served behind a key.
 */
export const IMMUTABLE_PRIVATE = 'private, max-age=31536000, immutable';

/**
 * Content-Disposition with both an ASCII fallback (quotes, backslashes and non-ASCII replaced) and the
 * exact name in RFC 5987 form, so no filename can break out of the header.
 */
export function contentDisposition(filename: string, disposition: 'attachment' | 'inline' = 'attachment'): string {
  const ascii =
    filename
      .normalize('NFKD')
      .replace(/[^\x20-\x7e]/g, '')
      .replace(/["\\;%]/g, '_')
      .trim() || 'download';
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Inline only for the image types Intake accepts (none of them scriptable: SVG is not among them);
 * anything else is an attachment whatever was asked, so a browser never renders an uploaded document.
 */
export function dispositionFor(contentType: string, asked: 'attachment' | 'inline' | undefined) {
  return asked === 'inline' && /^image\/(jpeg|png|webp|gif|avif|tiff)$/.test(contentType) ? 'inline' : 'attachment';
}

export interface ServeOptions {
  key: string;
  contentType: string;
  filename: string;
  redirect: boolean;
  /** attachment unless the caller decided inline is safe (dispositionFor). */
  disposition?: 'attachment' | 'inline';
  /** Cache-Control of a streamed answer; PRIVATE_NO_STORE unless the bytes never change. */
  cacheControl?: string;
  /**
   * Runs once S3 has answered with bytes to send (200 or 206), before the answer leaves: a share link
   * counts its download here, so a 304, a 416 or a failed read never uses one up. A throw discards the body.
   */
  beforeSending?: () => Promise<void>;
}

/**
 * A single byte range (RFC 9110 §14.1.2): `bytes=a-b`, `bytes=a-` or `bytes=-n`. Anything else (several
 * ranges, another unit, a malformed header) is ignored and the whole object is sent, as the RFC allows.
 */
export function singleByteRange(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d{0,19})-(\d{0,19})$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '' && Number(last) === 0) return undefined;
  if (first !== '' && last !== '' && Number(last) < Number(first)) return undefined;
  return `bytes=${first}-${last}`;
}

/** The one entity tag an If-None-Match names, to echo on a 304 without asking S3 again. */
function soleEntityTag(header: string): string | undefined {
  const tags = header.split(',').map((tag) => tag.trim());
  return tags.length === 1 && /^(W\/)?"[^"]*"$/.test(tags[0]!) ? tags[0]!.replace(/^W\//, '') : undefined;
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

type ObjectAnswer =
  | { kind: 'bytes'; object: GetObjectCommandOutput | HeadObjectCommandOutput }
  | { kind: 'not-modified' }
  | { kind: 'unsatisfiable' }
  | { kind: 'range-stale' };

/**
 * Streams an object from S3 (never buffered) or redirects to a presigned URL. `Range`, `If-None-Match`
 * and `If-Range` are handed to S3 itself, which answers 206, 304 or 416 from the object it holds, so
 * the answer is always about the bytes actually stored.
 */
export async function serveObject(c: Context<AppEnv>, options: ServeOptions): Promise<Response> {
  const { s3, config } = c.var;
  const disposition = contentDisposition(options.filename, options.disposition ?? 'attachment');
  if (options.redirect) {
    const command = new GetObjectCommand({
      Bucket: config.s3.bucket,
      Key: options.key,
      ResponseContentDisposition: disposition,
      ResponseContentType: options.contentType,
    });
    const url = await callDependency('S3', () => getSignedUrl(s3, command, { expiresIn: PRESIGN_TTL_SECONDS }));
    c.header('Cache-Control', 'no-store');
    return c.redirect(url, 302);
  }

  // HEAD must not open a download: nobody would read its body, and each unread body holds one of the
  // S3 client's sockets until the pool is exhausted and every download and upload waits.
  const head = c.req.method === 'HEAD';
  const ifNoneMatch = c.req.header('if-none-match')?.trim() || undefined;
  const ifRange = c.req.header('if-range')?.trim();
  // If-Range with a date cannot be checked against S3's ETag: send the whole object, which is always right.
  let range = ifRange && !ifRange.startsWith('"') ? undefined : singleByteRange(c.req.header('range'));
  const base = { Bucket: config.s3.bucket, Key: options.key, IfNoneMatch: ifNoneMatch };

  const ask = (controller: AbortController): Promise<ObjectAnswer> =>
    callDependency('S3', async (): Promise<ObjectAnswer> => {
      try {
        // If-Range as IfMatch: a changed object fails with 412, and the whole new object is sent instead.
        const input = { ...base, Range: range, IfMatch: range && ifRange ? ifRange : undefined };
        const object = head
          ? await s3.send(new HeadObjectCommand(input), { abortSignal: controller.signal })
          : await s3.send(new GetObjectCommand(input), { abortSignal: controller.signal });
        return { kind: 'bytes', object };
      } catch (error) {
        if (isNotFound(error)) throw new ApiError('content_gone', 'The stored content is no longer available');
        const status = statusOf(error);
        if (status === 304) return { kind: 'not-modified' };
        if (status === 416) return { kind: 'unsatisfiable' };
        if (status === 412 && range) return { kind: 'range-stale' };
        throw error;
      }
    }).catch((error: unknown) => {
      controller.abort();
      throw error;
    });

  let controller = new AbortController();
  let answer = await ask(controller);
  if (answer.kind === 'range-stale') {
    range = undefined;
    controller = new AbortController();
    answer = await ask(controller);
  }

  const headers = new Headers({
    'Content-Type': options.contentType,
    'Content-Disposition': disposition,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': options.cacheControl ?? PRIVATE_NO_STORE,
    'Accept-Ranges': 'bytes',
    'X-Request-Id': c.var.requestId,
  });
  if (answer.kind === 'not-modified') {
    const etag = soleEntityTag(ifNoneMatch ?? '') ?? (await objectHead(c, options.key))?.ETag;
    if (etag) headers.set('ETag', etag);
    headers.delete('Content-Type');
    return new Response(null, { status: 304, headers });
  }
  if (answer.kind === 'unsatisfiable') {
    const size = (await objectHead(c, options.key))?.ContentLength;
    throw new ApiError('range_not_satisfiable', `The range ${range ?? ''} lies outside the content`, {
      'Content-Range': `bytes */${size ?? '*'}`,
      'Accept-Ranges': 'bytes',
    });
  }
  if (answer.kind !== 'bytes') throw new ApiError('dependency_unavailable', 'S3 answered an unexpected status');

  const { object } = answer;
  const body = 'Body' in object ? object.Body : undefined;
  if (!head && !body) throw new ApiError('dependency_unavailable', 'S3 returned no body');
  if (options.beforeSending && !head) {
    try {
      await options.beforeSending();
    } catch (error) {
      (body as Readable | undefined)?.destroy();
      throw error;
    }
  }
  if (object.ContentLength !== undefined) headers.set('Content-Length', String(object.ContentLength));
  if (object.ETag) headers.set('ETag', object.ETag);
  const partial = range !== undefined && object.ContentRange !== undefined;
  if (partial) headers.set('Content-Range', object.ContentRange!);
  return new Response(body ? body.transformToWebStream() : null, { status: partial ? 206 : 200, headers });
}

/** The object's size and ETag for a 304 or 416 answer; null when it is gone. */
async function objectHead(c: Context<AppEnv>, key: string): Promise<HeadObjectCommandOutput | null> {
  return callDependency('S3', async () => {
    try {
      return await c.var.s3.send(new HeadObjectCommand({ Bucket: c.var.config.s3.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  });
}
