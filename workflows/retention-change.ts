import type { FileState, RetentionChange, RetentionState, UploadInput } from '../common/domain';
import { formatDuration } from '../common/durations';

/*
 * The retention update's rules, kept pure (no workflow APIs, the time passed in) so they are unit-tested
 * without a Temporal server; the workflow's update validator and handler call them.
 */

const DEFAULT_RETENTION_MIN_MS = 60_000;
const DEFAULT_RETENTION_MAX_MS = 365 * 86_400_000;

/** How long after completion a file may be kept, at least and at most. */
export interface RetentionBounds {
  minMs: number;
  maxMs: number;
}

export function retentionBounds(input: UploadInput): RetentionBounds {
  return {
    minMs: input.retentionMinMs ?? DEFAULT_RETENTION_MIN_MS,
    maxMs: input.retentionMaxMs ?? DEFAULT_RETENTION_MAX_MS,
  };
}

/** What a retention change is judged against. */
export interface RetentionContext {
  file: Pick<FileState, 'status' | 'completedAt' | 'expiresAt'>;
  /** A delete was requested and the file is on its way out. */
  deleting: boolean;
  bounds: RetentionBounds;
  /** Epoch milliseconds; the workflow passes its deterministic Date.now(). */
  now: number;
}

/** Why the change cannot be made, for the caller of the update; null when it can. */
export function retentionChangeRefusal(change: RetentionChange, context: RetentionContext): string | null {
  const { file, bounds } = context;
  if (file.status === 'DELETED' || context.deleting) {
    return 'the file is deleted (or being deleted); its retention can no longer change';
  }
  if (change.expiresAt === undefined && change.extendByMs === undefined && change.hold === undefined) {
    return 'nothing to change: give expiresAt, extendByMs or hold';
  }
  if (change.expiresAt !== undefined && change.extendByMs !== undefined) {
    return 'give either expiresAt or extendByMs, not both';
  }
  // The update's argument is whatever JSON the caller sent, whatever its declared type says.
  if (change.hold !== undefined && typeof change.hold !== 'boolean') return 'hold must be true or false';
  if (change.expiresAt === undefined && change.extendByMs === undefined) return null;
  if (file.status === 'PROCESSING' || file.completedAt === null || file.expiresAt === null) {
    return 'the retention period starts when processing ends; change the expiry after that';
  }
  let next: number;
  if (change.extendByMs !== undefined) {
    if (!Number.isFinite(change.extendByMs) || change.extendByMs <= 0) {
      return 'extendByMs must be a positive number of milliseconds';
    }
    next = Date.parse(file.expiresAt) + change.extendByMs;
  } else {
    next = Date.parse(change.expiresAt ?? '');
    if (Number.isNaN(next)) return `expiresAt "${change.expiresAt}" is not an ISO date-time`;
  }
  if (next <= context.now) return 'expiresAt must be in the future (use delete to remove the file now)';
  const period = next - Date.parse(file.completedAt);
  if (period < bounds.minMs || period > bounds.maxMs) {
    return `the retention period would be ${formatDuration(period, 's')}; it must lie within ${formatDuration(bounds.minMs, 's')}..${formatDuration(bounds.maxMs, 's')} of completion`;
  }
  return null;
}

/** The retention after an accepted change (one that retentionChangeRefusal let through). */
export function applyRetentionChange(current: RetentionState, change: RetentionChange): RetentionState {
  let { expiresAt, hold } = current;
  if (change.hold !== undefined) hold = change.hold;
  if (change.expiresAt !== undefined) expiresAt = new Date(Date.parse(change.expiresAt)).toISOString();
  if (change.extendByMs !== undefined && expiresAt !== null) {
    expiresAt = new Date(Date.parse(expiresAt) + change.extendByMs).toISOString();
  }
  return { expiresAt, hold };
}
