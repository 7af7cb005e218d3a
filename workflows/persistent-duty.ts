import { isCancellation, log, sleep } from '@temporalio/workflow';
import { failureMessage } from './upload-state';

const FIRST_WAIT_MS = 60_000;
const LONGEST_WAIT_MS = 3_600_000;

/**
 * Runs a duty the workflow must not end without (deleting a file's artifacts, recording its state)
 * until it succeeds. An activity's own retries end at its non-retryable errors and timeouts; past
 * them the workflow waits on a durable timer (1 minute, doubling to 1 hour) and tries again, instead of
 * failing and leaving a file that nothing will ever delete. While it fails, `report` carries the
 * trouble for the status query and the logs say so at error level: this needs an operator.
 */
export async function persistently<T>(
  duty: string,
  attempt: () => Promise<T>,
  report: (trouble: string | null) => void,
): Promise<T> {
  let waitMs = FIRST_WAIT_MS;
  for (;;) {
    try {
      const result = await attempt();
      report(null);
      return result;
    } catch (error) {
      if (isCancellation(error)) throw error;
      const message = failureMessage(error);
      report(`${duty} is failing (${message}); retrying every ${Math.round(waitMs / 60_000)} min`);
      log.error(`${duty} failed; the workflow retries it`, { error: message, retryInMs: waitMs });
      await sleep(waitMs);
      waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
    }
  }
}
