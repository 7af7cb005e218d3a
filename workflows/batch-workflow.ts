import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  emptyBatchCounts,
  type BatchCompletion,
  type BatchInput,
  type BatchState,
  type TerminalStatus,
} from '../common/domain';
import {
  batchExpectedSignal,
  batchMemberAddedSignal,
  batchMemberDoneSignal,
  batchStatusQuery,
} from '../common/messages';
import { recordBatchDone } from './activity-proxies';
import { EventPublisher } from './event-publishing';
import { announceBatchCompleted, batchCompletedEvent } from './notifications';

/**
 * One workflow per batch (id `batch-<batchId>`): it learns each member's terminal status by signal
 * and, once it knows how many files the batch has and has heard from that many, records the batch DONE
 * and announces batch.completed. Being one workflow per batch id is what makes the announcement happen
 * exactly once, however often a member or a producer repeats itself.
 *
 * Producers reach it with signalWithStart: POST /v1/batches sends `batchExpected` with the file count;
 * a producer that learns the batch over time (Kafka) sends `batchMemberAdded` per file and
 * `batchExpected` once the batch's end marker arrives. Signals may come in any order, and a member
 * may finish before the count is known.
 */
export async function batchWorkflow(input: BatchInput, carried?: BatchState): Promise<BatchState> {
  const state: BatchState = carried ?? newBatchState(input);
  // batch.completed goes to the events topic too.
  const events = new EventPublisher(patched('events-topic'));
  let outcomesSeen = Object.keys(state.outcomes).length;

  setHandler(batchStatusQuery, () => state);
  setHandler(batchMemberAddedSignal, ({ fileId }) => {
    if (!state.members.includes(fileId)) state.members.push(fileId);
  });
  setHandler(batchExpectedSignal, ({ count }) => {
    if (state.expected !== null) {
      if (count !== state.expected) log.warn('a second, different file count ignored', { count, kept: state.expected });
      return;
    }
    if (!Number.isInteger(count) || count < 0) {
      log.warn('an invalid file count ignored', { count });
      return;
    }
    state.expected = count;
  });
  setHandler(batchMemberDoneSignal, ({ fileId, status }) => {
    if (fileId in state.outcomes) return;
    if (state.status === 'DONE') {
      log.warn('a file finished after its batch was complete; not counted', { fileId, status });
      return;
    }
    state.outcomes[fileId] = status;
    state.counts[status] += 1;
    outcomesSeen += 1;
    if (!state.members.includes(fileId)) state.members.push(fileId);
  });

  const complete = () => state.expected !== null && outcomesSeen >= state.expected;
  // A batch of a thousand files takes a thousand signals; a fresh run keeps the history short.
  await condition(() => complete() || workflowInfo().continueAsNewSuggested);
  if (!complete()) {
    await condition(allHandlersFinished);
    if (!complete()) return await continueAsNew<typeof batchWorkflow>(input, state);
  }

  state.status = 'DONE';
  state.completedAt = new Date().toISOString();
  const completion: BatchCompletion = {
    batchId: state.batchId,
    tenantId: state.tenantId,
    fileCount: outcomesSeen,
    counts: { ...state.counts },
    createdAt: input.createdAt,
    completedAt: state.completedAt,
  };
  await recordBatchDone({ completion });
  events.publish(batchCompletedEvent(completion));
  await announceBatchCompleted(completion, input.callbackUrl);
  await events.settled();
  await condition(allHandlersFinished);
  return state;
}

function newBatchState(input: BatchInput): BatchState {
  return {
    batchId: input.batchId,
    tenantId: input.tenantId,
    status: 'PROCESSING',
    expected: null,
    members: [],
    outcomes: {} as Record<string, TerminalStatus>,
    counts: emptyBatchCounts(),
    completedAt: null,
  };
}
