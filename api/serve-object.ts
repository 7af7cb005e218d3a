import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Context } from 'hono';
import { isNotFound } from '../lib/s3-objects';
import type { AppEnv } from './types';
import { callDependency } from './dependencies';
import { ApiError } from './errors';

/** Presigned download URLs are short-lived: long enough to start a download, short enough to not leak. */
export const PRESIGN_TTL_SECONDS = 300;

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

export interface ServeOptions {
  key: string;
  contentType: string;
  filename: string;
  redirect: boolean;
}

/** Streams an object from S3 (never buffered) or redirects to a presigned URL. */
export async function serveObject(c: Context<AppEnv>, options: ServeOptions): Promise<Response> {
  const { s3, config } = c.var;
  const disposition = contentDisposition(options.filename);
  const command = new GetObjectCommand({
    Bucket: config.s3.bucket,
    Key: options.key,
    ...(options.redirect ? { ResponseContentDisposition: disposition, ResponseContentType: options.contentType } : {}),
  });
  if (options.redirect) {
    const url = await callDependency('S3', () => getSignedUrl(s3, command, { expiresIn: PRESIGN_TTL_SECONDS }));
    c.header('Cache-Control', 'no-store');
    return c.redirect(url, 302);
  }

  // HEAD must not open a download: nobody would read its body, and each unread body holds one of the
  // S3 client's sockets until the pool is exhausted and every download and upload waits.
  const head = c.req.method === 'HEAD';
  const controller = new AbortController();
  // The deadline covers S3's answer (headers) only; the body then streams for as long as it takes.
  const object = await callDependency('S3', async () => {
    try {
      return head
        ? await s3.send(new HeadObjectCommand({ Bucket: config.s3.bucket, Key: options.key }), {
            abortSignal: controller.signal,
          })
        : await s3.send(command, { abortSignal: controller.signal });
    } catch (error) {
      if (isNotFound(error)) throw new ApiError('content_gone', 'The stored content is no longer available');
      throw error;
    }
  }).catch((error: unknown) => {
    controller.abort();
    throw error;
  });
  const body = 'Body' in object ? object.Body : undefined;
  if (!head && !body) throw new ApiError('dependency_unavailable', 'S3 returned no body');
  const headers = new Headers({
    'Content-Type': options.contentType,
    'Content-Disposition': disposition,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'private, no-store',
    'X-Request-Id': c.var.requestId,
  });
  if (object.ContentLength !== undefined) headers.set('Content-Length', String(object.ContentLength));
  if (object.ETag) headers.set('ETag', object.ETag);
  return new Response(body ? body.transformToWebStream() : null, { status: 200, headers });
}
