import type { FileState } from '../../common/domain';

const done = { state: 'done' as const, attempts: 1, startedAt: null, finishedAt: null, error: null };

/** A READY file's workflow state, every step done; tests override what they look at. */
export function readyFileState(overrides: Partial<FileState> = {}): FileState {
  return {
    fileId: 'f1',
    tenantId: 't1',
    filename: 'cat.jpg',
    status: 'READY',
    reason: null,
    contentType: 'image/jpeg',
    size: 1234,
    sha256: 'ab'.repeat(32),
    width: 640,
    height: 480,
    renditions: [],
    tags: [],
    steps: { scan: done, validate: done, resize: done, store: done, index: done, notify: done },
    createdAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:00:05.000Z',
    expiresAt: '2026-01-08T00:00:05.000Z',
    hold: false,
    deletedAt: null,
    deletionReason: null,
    ...overrides,
  };
}
