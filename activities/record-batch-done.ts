import { recordBatchDone as writeBatchDone } from '../prisma/batches';
import type { ActivityDeps } from './deps';
import type { RecordBatchDoneInput } from './types';

/** Marks the batch DONE in Postgres with the counts its workflow reached; a repeat changes nothing. */
export async function recordBatchDone(deps: ActivityDeps, { completion }: RecordBatchDoneInput): Promise<void> {
  await writeBatchDone(deps.db, completion.batchId, {
    counts: completion.counts,
    fileCount: completion.fileCount,
    completedAt: new Date(completion.completedAt),
  });
}
