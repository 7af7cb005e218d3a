import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Logger } from 'pino';
import type { BatchInput } from '../common/domain';
import { batchExpectedSignal, batchMemberAddedSignal, batchMemberDoneSignal } from '../common/messages';
import { derivedBatchId } from '../lib/ids';
import { ensureOpenBatch } from '../prisma/batches';
import type { Db } from '../prisma/db';
import { signalBatch } from './accept-batch';

/*
 * A Kafka batch: messages sharing an intake-batch-id, ended by one carrying intake-batch-end: <count>.
 * Its id is derived from the tenant and the producer's id, so every message (and every redelivery) of
 * it names the same Batch row and the same batch workflow. The same batchWorkflow as for HTTP batches
 * counts the outcomes; here it learns its members one message at a time, in any order.
 */

export interface KafkaBatchDeps {
  log: Logger;
  withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  withTemporal: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
}

export interface KafkaBatchRef {
  tenantId: string;
  /** The producer's intake-batch-id. */
  producerBatchId: string;
  /** The callback URL of the message that opens the batch: told of batch.completed too. */
  callbackUrl: string | null;
}

export const kafkaBatchId = (ref: Pick<KafkaBatchRef, 'tenantId' | 'producerBatchId'>) =>
  derivedBatchId(ref.tenantId, ref.producerBatchId);

async function tell<Args extends unknown[]>(
  deps: KafkaBatchDeps,
  ref: KafkaBatchRef,
  signal: SignalDefinition<Args>,
  args: Args,
): Promise<string> {
  const batchId = kafkaBatchId(ref);
  const row = await deps.withDb((db) => ensureOpenBatch(db, { id: batchId, tenantId: ref.tenantId }));
  const input: BatchInput = {
    batchId,
    tenantId: ref.tenantId,
    callbackUrl: ref.callbackUrl,
    createdAt: row.createdAt.toISOString(),
  };
  try {
    await deps.withTemporal((client) => signalBatch(client, input, signal, args));
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    // The batch completed already: a late message still becomes a file, outside the counts.
    deps.log.warn({ batchId, producerBatchId: ref.producerBatchId }, 'a message for a batch that has completed');
  }
  return batchId;
}

/**
 * Makes `fileId` a member of its batch before its workflow starts, so the member's terminal signal
 * always finds the batch running. Returns the batch's id.
 */
export function joinKafkaBatch(deps: KafkaBatchDeps, ref: KafkaBatchRef, fileId: string): Promise<string> {
  return tell(deps, ref, batchMemberAddedSignal, [{ fileId }]);
}

/** The batch's end marker: the batch is DONE once this many of its files are terminal. */
export async function endKafkaBatch(deps: KafkaBatchDeps, ref: KafkaBatchRef, count: number): Promise<void> {
  await tell(deps, ref, batchExpectedSignal, [{ count }]);
}

/**
 * A message of the batch Intake refused (it went to the DLQ): it never becomes a file, but the batch
 * counts it REJECTED, or a batch ended by a count would wait for ever for it.
 */
export async function countRefusedMember(deps: KafkaBatchDeps, ref: KafkaBatchRef, fileId: string): Promise<void> {
  await tell(deps, ref, batchMemberDoneSignal, [{ fileId, status: 'REJECTED' }]);
}
