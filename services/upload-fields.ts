import { isIP } from 'node:net';
import type { Config } from '../config/env';
import { formatDuration, parseDuration } from '../common/durations';
import { addressRefusal, urlPort, type WebhookGuardPolicy } from '../lib/webhook-guard';
import { UploadRefused } from './accept-upload';

/*
 * The options an upload carries, however it arrived (multipart fields, query parameters, Kafka
 * headers): parsed and checked the same way, refusing with `invalid_request` and a message that names
 * the field. The API answers that with a 400; the Kafka consumer puts the message in its dead letters.
 */

const invalid = (message: string) => new UploadRefused('invalid_request', message);

export const MAX_FILENAME_LENGTH = 255;

/**
 * Filenames are untrusted metadata: control characters and path separators are removed and the length
 * is capped. They are never used in a storage key or a path.
 */
export function sanitizeFilename(raw: string | null | undefined): string {
  const cleaned = (raw ?? '')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/[/\\]/g, '_')
    .trim();
  const chars = Array.from(cleaned);
  const limited = chars.length > MAX_FILENAME_LENGTH ? chars.slice(0, MAX_FILENAME_LENGTH).join('') : cleaned;
  return limited === '' || limited === '.' || limited === '..' ? 'upload' : limited;
}

/** Tags: comma-separated and/or repeated; trimmed, deduplicated, at most 32 of at most 64 characters. */
export function parseTags(values: readonly string[]): string[] {
  const tags = [
    ...new Set(
      values
        .flatMap((value) => value.split(','))
        .map((tag) => tag.trim())
        .filter(Boolean),
    ),
  ];
  if (tags.length > 32) throw invalid('tags: at most 32 tags');
  const bad = tags.find((tag) => tag.length > 64 || /[\u0000-\u001f\u007f]/.test(tag));
  if (bad !== undefined) throw invalid(`tags: "${bad.slice(0, 70)}" is not a valid tag (1-64 printable characters)`);
  return tags;
}

/** A per-upload retention such as "7d", within the configured bounds; the default when absent. */
export function parseRetention(value: string | undefined, retention: Config['retention']): number {
  if (value === undefined || value.trim() === '') return retention.defaultMs;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (error) {
    throw invalid(`retention: ${(error as Error).message}`);
  }
  if (ms < retention.minMs || ms > retention.maxMs) {
    throw invalid(
      `retention: must lie between ${formatDuration(retention.minMs)} and ${formatDuration(retention.maxMs)}`,
    );
  }
  return ms;
}

/**
 * Callback and webhook URLs must be absolute http(s) URLs without credentials. Literal private or
 * loopback targets are refused here already (unless allowed); names are resolved and checked again on
 * every delivery, since DNS can change.
 */
export function parseHttpUrl(
  value: string | undefined,
  field: string,
  guard: WebhookGuardPolicy = { allowPrivate: false, allowTargets: [] },
): string | null {
  if (value === undefined || value.trim() === '') return null;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw invalid(`${field}: "${value.slice(0, 100)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`${field}: must be an http or https URL`);
  }
  if (url.href.length > 2048) throw invalid(`${field}: at most 2048 characters`);
  if (url.username || url.password) throw invalid(`${field}: must not contain credentials`);
  if (!guard.allowPrivate) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const why =
      host === 'localhost' || host.endsWith('.localhost')
        ? 'a loopback name'
        : isIP(host)
          ? addressRefusal(host, urlPort(url), guard)
          : null;
    if (why) {
      throw invalid(
        `${field}: ${host} is ${why}; private targets are refused unless listed in INTAKE_WEBHOOK_ALLOW_TARGETS`,
      );
    }
  }
  return url.href;
}

/** A declared Content-Type as stored: its media type in lowercase, or null when absent or generic. */
export function normaliseContentType(value: string | undefined | null): string | null {
  const type = value?.split(';')[0]?.trim().toLowerCase();
  // A generic type says nothing about the content; the validate step decides from magic bytes anyway.
  // curl --data-binary labels any file as a urlencoded form unless told otherwise: no declaration either.
  if (!type || type === 'application/octet-stream' || type === 'application/x-www-form-urlencoded') return null;
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : null;
}
