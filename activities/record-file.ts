import { mirrorState, type FileFacts } from '../prisma/files';
import type { FileState } from '../common/domain';
import type { ActivityDeps } from './deps';
import { toJson } from './json-column';

const date = (iso: string | null) => (iso ? new Date(iso) : null);

/**
 * Mirrors the workflow's state into the file's row (status, reason, steps, retention), upserting by
 * file id so the API can list and search files without asking Temporal. Storage keys are not part of
 * the workflow state and are left as storeFile and scanFile wrote them.
 */
export async function recordFile(deps: ActivityDeps, state: FileState): Promise<void> {
  const reachedOutcome = await mirrorState(
    deps.db,
    { id: state.fileId, tenantId: state.tenantId, createdAt: new Date(state.createdAt) },
    fileFactsOf(state),
  );
  if (reachedOutcome) {
    deps.metrics?.outcomeReached(state.status, (Date.now() - Date.parse(state.createdAt)) / 1000);
  }
}

/** The row's columns a workflow state fixes; `intake reconcile` writes the same ones from a queried state. */
export function fileFactsOf(state: FileState): FileFacts {
  const deleted = state.status === 'DELETED';
  return {
    filename: state.filename,
    status: state.status,
    reason: state.reason,
    contentType: state.contentType,
    size: BigInt(state.size),
    // An infected upload's digest is known only to scanFile (which wrote it before failing); keep it.
    sha256: state.sha256 ?? undefined,
    width: state.width,
    height: state.height,
    tags: state.tags,
    // A tombstone never points at renditions, whatever the state carried.
    renditions: toJson(deleted ? [] : state.renditions),
    steps: toJson(state.steps),
    completedAt: date(state.completedAt),
    expiresAt: date(state.expiresAt),
    hold: state.hold,
    deletedAt: date(state.deletedAt),
    deletionReason: state.deletionReason,
    ...(deleted ? { storageKey: null, quarantineKey: null } : {}),
  };
}
