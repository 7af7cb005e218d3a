import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, DURATION_WITH_UNIT_PATTERN, formatDuration, parseDuration } from '../../common/durations';

describe('durations', () => {
  it('formats a duration in its largest whole unit', () => {
    expect(formatDuration(7 * 86_400_000)).toBe('7d');
    expect(formatDuration(36 * 3_600_000)).toBe('36h');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(60_000)).toBe('1m');
  });

  it('shows a duration of no whole seconds in milliseconds, or rounded to seconds when asked', () => {
    expect(formatDuration(1_500)).toBe('1500ms');
    expect(formatDuration(1_500, 's')).toBe('2s');
    expect(formatDuration(86_400_000 + 400, 's')).toBe('86400s');
  });

  it('reads back what it writes', () => {
    for (const ms of [1_500, 90_000, 3_600_000, 7 * 86_400_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('accepts a bare number only where no unit is required', () => {
    expect(DURATION_PATTERN.test('30')).toBe(true);
    expect(DURATION_WITH_UNIT_PATTERN.test('30')).toBe(false);
    expect(DURATION_WITH_UNIT_PATTERN.test('30d')).toBe(true);
    expect(DURATION_PATTERN.test('soon')).toBe(false);
  });
});
