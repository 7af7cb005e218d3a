/**
 * Durations as people write them ("90s", "15m", "36h", "7d"): the one parser and formatter the
 * configuration, the API and the workflow share. Workflow-safe: pure functions, no I/O.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export type DurationUnit = keyof typeof UNIT_MS;

const AMOUNT = String.raw`(\d+(?:\.\d+)?)`;
const UNIT = '(ms|s|m|h|d|w)';
/** A number with an optional unit, e.g. "30s" or "250". */
export const DURATION_PATTERN = new RegExp(`^${AMOUNT}\\s*${UNIT}?$`);
/** A number with a unit, e.g. "30d": where a bare number would silently mean milliseconds. */
export const DURATION_WITH_UNIT_PATTERN = new RegExp(`^${AMOUNT}\\s*${UNIT}$`);

/** Parses "90s", "15m", "36h", "7d" or a bare number (of `bareUnit`, milliseconds by default) into milliseconds. */
export function parseDuration(value: string, bareUnit: DurationUnit = 'ms'): number {
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a duration like 30s, 15m, 12h or 7d`);
  const amount = Number(match[1]);
  const unit = (match[2] ?? bareUnit) as DurationUnit;
  return Math.round(amount * UNIT_MS[unit]);
}

const LARGEST_FIRST = [
  ['d', UNIT_MS.d],
  ['h', UNIT_MS.h],
  ['m', UNIT_MS.m],
  ['s', UNIT_MS.s],
] as const;

/**
 * The largest whole unit of `ms` ("7d", "36h", "90s"). A duration that is no whole number of seconds
 * is shown in milliseconds, or, with `smallest` 's', rounded to seconds (for messages about a computed
 * period, where milliseconds are noise).
 */
export function formatDuration(ms: number, smallest: 'ms' | 's' = 'ms'): string {
  for (const [unit, size] of LARGEST_FIRST) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return smallest === 's' ? `${Math.round(ms / 1000)}s` : `${ms}ms`;
}
