import { deleteKeys, listKeys } from '../lib/s3-objects';
import { storageKeys } from '../lib/storage-keys';
import { tombstone } from '../prisma/files';
import { revokeFileShareLinks } from '../prisma/shares';
import type { ActivityDeps } from './deps';
import type { DeleteArtifactsInput } from './types';

/**
 * Removes every byte an upload produced (incoming, original, renditions, quarantined copy) and turns
 * its row into a tombstone: id, tenant, filename, sha256 and timestamps stay, content and index go;
 * every share link to it is revoked with it.
 * Idempotent: after a crash half-way, or run twice, it reaches the same end state.
 */
export async function deleteArtifacts(deps: ActivityDeps, input: DeleteArtifactsInput): Promise<void> {
  const { config, s3, db } = deps;
  const bucket = config.s3.bucket;
  const { tenantId, fileId } = input;
  const under = await listKeys(s3, bucket, storageKeys.filePrefix(tenantId, fileId));
  await deleteKeys(s3, bucket, [
    storageKeys.incoming(tenantId, fileId),
    storageKeys.original(tenantId, fileId),
    storageKeys.quarantine(tenantId, fileId),
    ...under,
  ]);

  // One transaction: no moment exists in which the row is a tombstone and a link still looks live.
  const tombstoned = await db.$transaction(async (tx) => {
    const found = await tombstone(tx, fileId, input.reason);
    if (found) await revokeFileShareLinks(tx, fileId, input.reason);
    return found;
  });
  if (!tombstoned) {
    deps.log?.warn({ fileId }, 'deleted artifacts of a file that has no row; nothing to tombstone');
  }
  deps.metrics?.deleted(input.reason);
}
