import { isIP } from 'node:net';
import type { Config } from '../config/env';
import { formatDuration, parseDuration } from '../common/durations';
import { addressRefusal, urlPort, type WebhookGuardPolicy } from '../lib/webhook-guard';
import { ApiError } from './errors';

/**
 * What an id in a path may look like. Anything else cannot name a file or webhook, and a NUL byte
 * would otherwise reach Postgres, which refuses it with an error (a 500 instead of a 400).
 */
export const ID_PARAM_PATTERN = /^[A-Za-z0-9_-]+$/;

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
  if (tags.length > 32) throw new ApiError('invalid_request', 'tags: at most 32 tags');
  const bad = tags.find((tag) => tag.length > 64 || /[\u0000-\u001f\u007f]/.test(tag));
  if (bad !== undefined)
    throw new ApiError('invalid_request', `tags: "${bad.slice(0, 70)}" is not a valid tag (1-64 printable characters)`);
  return tags;
}

/** A per-upload retention such as "7d", within the configured bounds; the default when absent. */
export function parseRetention(value: string | undefined, retention: Config['retention']): number {
  if (value === undefined || value.trim() === '') return retention.defaultMs;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (error) {
    throw new ApiError('invalid_request', `retention: ${(error as Error).message}`);
  }
  if (ms < retention.minMs || ms > retention.maxMs) {
    throw new ApiError(
      'invalid_request',
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
    throw new ApiError('invalid_request', `${field}: "${value.slice(0, 100)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError('invalid_request', `${field}: must be an http or https URL`);
  }
  if (url.href.length > 2048) throw new ApiError('invalid_request', `${field}: at most 2048 characters`);
  if (url.username || url.password) throw new ApiError('invalid_request', `${field}: must not contain credentials`);
  if (!guard.allowPrivate) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const why =
      host === 'localhost' || host.endsWith('.localhost')
        ? 'a loopback name'
        : isIP(host)
          ? addressRefusal(host, urlPort(url), guard)
          : null;
    if (why) {
      throw new ApiError(
        'invalid_request',
        `${field}: ${host} is ${why}; private targets are refused unless listed in INTAKE_WEBHOOK_ALLOW_TARGETS`,
      );
    }
  }
  return url.href;
}
