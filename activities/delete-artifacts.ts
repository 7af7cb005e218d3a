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
 *
 * Built for retention storms (thousands of timers firing in one minute): the keys go through the
 * worker's shared deleter, one DeleteObjects request for many files, and the database transaction waits
 * for one of INTAKE_DELETE_CONCURRENCY slots, so uploads still processing keep their connections.
 */
export async function deleteArtifacts(deps: ActivityDeps, input: DeleteArtifactsInput): Promise<void> {
  const { config, s3, db } = deps;
  const bucket = config.s3.bucket;
  const { tenantId, fileId } = input;
  const under = await listKeys(s3, bucket, storageKeys.filePrefix(tenantId, fileId));
  const keys = [
    storageKeys.incoming(tenantId, fileId),
    storageKeys.original(tenantId, fileId),
    storageKeys.quarantine(tenantId, fileId),
    ...under,
  ];
  // A key S3 keeps after the deleter's retries fails the activity, which Temporal retries: never a
  // tombstone over bytes still stored.
  await (deps.objectDeleter ? deps.objectDeleter.deleteKeys(keys) : deleteKeys(s3, bucket, keys));

  // One transaction: no moment exists in which the row is a tombstone and a link still looks live.
  const tombstoneRow = () =>
    db.$transaction(async (tx) => {
      const found = await tombstone(tx, fileId, input.reason);
      if (found) await revokeFileShareLinks(tx, fileId, input.reason);
      return found;
    });
  const tombstoned = await (deps.deletionSlots ? deps.deletionSlots(tombstoneRow) : tombstoneRow());
  if (!tombstoned) {
    deps.log?.warn({ fileId }, 'deleted artifacts of a file that has no row; nothing to tombstone');
  }
  deps.metrics?.deleted(input.reason);
}
