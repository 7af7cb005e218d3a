import { cancellationSignal, heartbeat } from '@temporalio/activity';
import sharp from 'sharp';
import { getObjectStream, readStream, uploadStream } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import { noThumbnail } from '../common/failures';
import type { Rendition } from '../common/domain';
import type { ActivityDeps } from './deps';
import { renderPdfFirstPage, type PdfPageRender } from './pdf-thumbnail';
import type { RenditionsInput } from './types';

/** The one rendition a PDF gets, when INTAKE_RENDITIONS names it. */
export const PDF_THUMBNAIL_RENDITION = 'thumb';

/** Often enough for the resize step's 30-second heartbeat timeout while the page is drawn. */
const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * The resize step for a PDF: page 1 drawn in a bounded thread (pdfjs-dist on @napi-rs/canvas, within
 * the parse limits INTAKE_PDF_PARSE_TIMEOUT and INTAKE_PDF_PARSE_MEMORY_MB), encoded by sharp to the
 * `thumb` rendition's format with its longest edge at the rendition's size, under the same
 * deterministic key an image's thumb has. No thumb when INTAKE_PDF_THUMBNAIL=false or INTAKE_RENDITIONS
 * has no `thumb`. A page that cannot be drawn throws NoThumbnail: the workflow keeps the file READY
 * without a thumb and shows why on the resize step; S3 failures throw plainly and are retried.
 */
export async function makePdfThumbnail(deps: ActivityDeps, input: RenditionsInput): Promise<Rendition[]> {
  const { config, s3 } = deps;
  const pdf = config.documents.pdf;
  const thumb = config.renditions.find((rendition) => rendition.name === PDF_THUMBNAIL_RENDITION);
  if (!pdf.thumbnail || thumb === undefined) return [];
  const bucket = config.s3.bucket;
  const cancelled = cancellationSignal();
  const bytes = await readStream(await getObjectStream(s3, bucket, input.key), config.limits.maxUploadBytes);

  const started = performance.now();
  heartbeat();
  const beating = setInterval(() => heartbeat(), HEARTBEAT_INTERVAL_MS);
  let page: PdfPageRender;
  try {
    page = await renderPdfFirstPage(
      bytes,
      { maxEdge: thumb.maxEdge, maxImagePixels: config.limits.maxPixels },
      { timeoutMs: pdf.parseTimeoutMs, memoryMb: pdf.parseMemoryMb },
      cancelled,
    );
  } finally {
    clearInterval(beating);
  }
  const renderMs = Math.round(performance.now() - started);
  if (page.kind !== 'rendered') {
    const reason = noThumbnailReason(page);
    deps.log?.warn({ fileId: input.fileId, renderMs, reason }, 'PDF kept without a thumbnail');
    throw noThumbnail(reason);
  }

  const { webp, avif } = config.renditionEncoding;
  const sized = sharp(page.pixels, { raw: { width: page.width, height: page.height, channels: 4 } })
    // Drawn on white, so the alpha channel carries nothing.
    .removeAlpha()
    .resize({ width: thumb.maxEdge, height: thumb.maxEdge, fit: 'inside' });
  const encoded =
    thumb.format === 'avif'
      ? sized.avif({ quality: avif.quality, effort: avif.effort })
      : sized.webp({ quality: webp.quality, effort: webp.effort });
  const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
  const key = storageKeys.rendition(input.tenantId, input.fileId, thumb.name, thumb.format);
  await uploadStream(s3, bucket, key, data, `image/${thumb.format}`);
  deps.log?.info({ fileId: input.fileId, renderMs, width: info.width, height: info.height }, 'PDF thumbnail made');
  return [
    {
      name: thumb.name,
      key,
      format: thumb.format,
      width: info.width,
      height: info.height,
      size: data.length,
      frames: 1,
    },
  ];
}

/** Why a PDF has no thumbnail, as its resize step shows it. */
export function noThumbnailReason(page: Exclude<PdfPageRender, { kind: 'rendered' }>): string {
  switch (page.kind) {
    case 'invalid':
      return `No thumbnail: the PDF's first page cannot be drawn: ${page.detail.replace(/\s+/g, ' ').trim().replace(/\.$/, '')}.`;
    case 'timed-out':
      return `No thumbnail: the PDF's first page was not drawn within the ${page.limitMs} ms allowed (INTAKE_PDF_PARSE_TIMEOUT).`;
    case 'out-of-memory':
      return `No thumbnail: drawing the PDF's first page needed more than the ${page.limitMb} MB allowed (INTAKE_PDF_PARSE_MEMORY_MB).`;
  }
}
