import { InvalidArgumentError } from 'commander';
import { DURATION_PATTERN, DURATION_WITH_UNIT_PATTERN, parseDuration } from '../common/durations';
import { FILE_STATUSES, type FileStatus } from '../common/domain';
import { parseByteSize } from '../common/tenant-limits';

/*
 * Argument parsers for commander: each checks its value as the API would and throws commander's
 * InvalidArgumentError, so a bad flag is a usage error (exit 2) before any request is made.
 */

export const wholeNumber =
  (min: number, max: number) =>
  (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`Must be a whole number from ${min} to ${max}.`);
    const parsed = Number(value);
    if (parsed < min || parsed > max) throw new InvalidArgumentError(`Must be a whole number from ${min} to ${max}.`);
    return parsed;
  };

/** "30s", "10m", "2h" → milliseconds; a bare number counts seconds. */
export function duration(value: string): number {
  if (!DURATION_PATTERN.test(value.trim()))
    throw new InvalidArgumentError('Must be a duration such as 30s, 10m or 2h.');
  return parseDuration(value, 's');
}

/** Retention and extensions name their unit ("30d"): a bare "30" would mean milliseconds to the API. */
export function durationWithUnit(value: string): string {
  const trimmed = value.trim();
  if (!DURATION_WITH_UNIT_PATTERN.test(trimmed)) {
    throw new InvalidArgumentError('Must be a duration with a unit, such as 12h, 7d or 4w.');
  }
  return trimmed.replace(/\s+/g, '');
}

export function byteSize(value: string): number {
  const bytes = parseByteSize(value);
  if (bytes === undefined) throw new InvalidArgumentError('Must be a size such as 64MiB, 500MB or 1048576.');
  return bytes;
}

/** "a,b" given once or the flag repeated: every tag, trimmed, empty ones dropped. */
export function tagList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean),
  ];
}

export function fileStatus(value: string): FileStatus {
  const status = value.trim().toUpperCase();
  if (!(FILE_STATUSES as readonly string[]).includes(status)) {
    throw new InvalidArgumentError(`Must be one of ${FILE_STATUSES.join(', ')}.`);
  }
  return status as FileStatus;
}

/** A date or date-time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T10:00:00Z), or a span back from now (7d). */
export function pointInTime(value: string, now = Date.now()): Date {
  const trimmed = value.trim();
  if (DURATION_WITH_UNIT_PATTERN.test(trimmed)) return new Date(now - parseDuration(trimmed));
  const date = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? new Date(trimmed) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(
      'must be a date such as 2026-12-01, a date-time, or a span back from now such as 7d.',
    );
  }
  return date;
}

export function httpUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // Falls through to the error below.
  }
  throw new InvalidArgumentError('Must be an http(s) URL.');
}
