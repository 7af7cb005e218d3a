import { describe, expect, it } from 'vitest';
import type { RetentionChange } from '../../common/domain';
import {
  applyRetentionChange,
  retentionBounds,
  retentionChangeRefusal,
  type RetentionContext,
} from '../../workflows/retention-change';
import { formatDuration } from '../../common/durations';

const DAY = 86_400_000;
const now = Date.parse('2026-06-01T12:00:00.000Z');
const completedAt = new Date(now - DAY).toISOString();
const expiresAt = new Date(now + 6 * DAY).toISOString();

function context(overrides: Partial<RetentionContext> = {}): RetentionContext {
  return {
    file: { status: 'READY', completedAt, expiresAt },
    deleting: false,
    bounds: { minMs: 60_000, maxMs: 30 * DAY },
    now,
    ...overrides,
  };
}

describe('retention change validation', () => {
  it('accepts an extension, a new expiry inside the bounds, and a hold', () => {
    expect(retentionChangeRefusal({ extendByMs: DAY }, context())).toBeNull();
    expect(retentionChangeRefusal({ expiresAt: new Date(now + 10 * DAY).toISOString() }, context())).toBeNull();
    expect(retentionChangeRefusal({ hold: true }, context())).toBeNull();
    expect(retentionChangeRefusal({ hold: false, extendByMs: DAY }, context())).toBeNull();
  });

  it('refuses every change once the file is deleted or being deleted', () => {
    const deleted = context({ file: { status: 'DELETED', completedAt, expiresAt } });
    expect(retentionChangeRefusal({ hold: true }, deleted)).toContain('deleted');
    expect(retentionChangeRefusal({ hold: true }, context({ deleting: true }))).toContain('being deleted');
  });

  it('refuses a change that changes nothing, or gives both an expiry and an extension', () => {
    expect(retentionChangeRefusal({}, context())).toContain('nothing to change');
    expect(retentionChangeRefusal({ expiresAt, extendByMs: 1000 }, context())).toContain('either');
  });

  it('refuses a hold that is not a boolean, as JSON from a caller may be anything', () => {
    const change = { hold: 'yes' } as unknown as RetentionChange;
    expect(retentionChangeRefusal(change, context())).toBe('hold must be true or false');
  });

  it('lets a hold through while processing but not a new expiry, whose period starts at completion', () => {
    const processing = context({ file: { status: 'PROCESSING', completedAt: null, expiresAt: null } });
    expect(retentionChangeRefusal({ hold: true }, processing)).toBeNull();
    expect(retentionChangeRefusal({ extendByMs: DAY }, processing)).toContain('when processing ends');
  });

  it('refuses an extension that is not a positive number of milliseconds', () => {
    for (const extendByMs of [0, -1000, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(retentionChangeRefusal({ extendByMs }, context())).toContain('positive');
    }
  });

  it('refuses an expiry that is not an ISO date-time or not in the future', () => {
    expect(retentionChangeRefusal({ expiresAt: 'next tuesday' }, context())).toContain('ISO');
    expect(retentionChangeRefusal({ expiresAt: new Date(now - 60_000).toISOString() }, context())).toContain('future');
    expect(retentionChangeRefusal({ expiresAt: new Date(now).toISOString() }, context())).toContain('future');
  });

  it('refuses a retention period outside the bounds and names them', () => {
    const tooLong = retentionChangeRefusal({ expiresAt: new Date(now + 60 * DAY).toISOString() }, context());
    expect(tooLong).toBe('the retention period would be 61d; it must lie within 1m..30d of completion');
    const tooShort = context({ bounds: { minMs: 3 * DAY, maxMs: 30 * DAY } });
    expect(retentionChangeRefusal({ expiresAt: new Date(now + 1000).toISOString() }, tooShort)).toContain(
      'within 3d..30d',
    );
  });
});

describe('applying a retention change', () => {
  it('extends from the current expiry', () => {
    expect(applyRetentionChange({ expiresAt, hold: false }, { extendByMs: DAY })).toEqual({
      expiresAt: new Date(Date.parse(expiresAt) + DAY).toISOString(),
      hold: false,
    });
  });

  it('replaces the expiry with its normalised ISO form and leaves the hold alone', () => {
    expect(applyRetentionChange({ expiresAt, hold: true }, { expiresAt: '2026-07-01T00:00:00+02:00' })).toEqual({
      expiresAt: '2026-06-30T22:00:00.000Z',
      hold: true,
    });
  });

  it('sets or releases a hold without touching the expiry', () => {
    expect(applyRetentionChange({ expiresAt, hold: false }, { hold: true })).toEqual({ expiresAt, hold: true });
    expect(applyRetentionChange({ expiresAt: null, hold: true }, { hold: false })).toEqual({
      expiresAt: null,
      hold: false,
    });
  });
});

describe('retention bounds and periods', () => {
  it('defaults to one minute .. one year unless the upload says otherwise', () => {
    const input = { retentionMinMs: undefined, retentionMaxMs: undefined } as Parameters<typeof retentionBounds>[0];
    expect(retentionBounds(input)).toEqual({ minMs: 60_000, maxMs: 365 * DAY });
    expect(retentionBounds({ ...input, retentionMinMs: 1000, retentionMaxMs: 2 * DAY })).toEqual({
      minMs: 1000,
      maxMs: 2 * DAY,
    });
  });

  it('formats a period in the largest whole unit', () => {
    expect(formatDuration(2 * DAY, 's')).toBe('2d');
    expect(formatDuration(36 * 3_600_000, 's')).toBe('36h');
    expect(formatDuration(90 * 60_000, 's')).toBe('90m');
    expect(formatDuration(1500, 's')).toBe('2s');
  });
});
