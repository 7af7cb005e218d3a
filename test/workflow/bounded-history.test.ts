import { activityInfo } from '@temporalio/activity';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureTypes } from '../../common/failures';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { retentionUpdate, statusQuery } from '../../common/messages';
import { RETENTION_CHANGES_PER_MINUTE, uploadWorkflow } from '../../workflows/upload-workflow';
import {
  TENANT_ENDPOINT,
  eventually,
  fakeActivities,
  startWorkers,
  uploadInput,
  workflowId,
  startTimeSkippingEnv,
} from './support/workflow-env';

/*
 * Misuse must not grow a workflow's history to Temporal's hard limit (51,200 events), where the
 * server terminates it and with it the file's retention: a client looping on PATCH /retention while a
 * webhook endpoint is down for hours. On the time-skipping server, so the hours pass in seconds.
 */

const MINUTE = 60_000;
/** The run's own continue-as-new threshold (2,000 events) plus what one busy workflow task may add. */
const RUN_HISTORY_BOUND = 2_200;

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
});

afterAll(async () => {
  await env?.teardown();
});

describe('bounded history', () => {
  it('a client spamming retention changes while a webhook retries is rate-limited and the workflow continues as new, delivering once the endpoint recovers', async () => {
    // The endpoint is down for as long as the first run lives, and back by the time its successor runs.
    let firstRunId: string | undefined;
    const fake = fakeActivities({
      async deliverWebhook(input) {
        const runId = activityInfo().workflowExecution?.runId;
        if (input.target.url === TENANT_ENDPOINT && (firstRunId === undefined || runId === firstRunId)) {
          throw new Error('connect ECONNREFUSED (endpoint down)');
        }
        return { statusCode: 204 };
      },
    });
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput();
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      const ready = await eventually(
        () => handle.query(statusQuery),
        (s) => s.status === 'READY' && s.steps.notify.state === 'running',
      );
      firstRunId = (await handle.describe()).runId;

      let accepted = 0;
      let lastAccepted: string | null = null;
      let limited = 0;
      let runId: string = firstRunId;
      for (let minute = 0; minute < 60 && runId === firstRunId; minute++) {
        for (let i = 0; i < RETENTION_CHANGES_PER_MINUTE + 1; i++) {
          try {
            const r = await handle.executeUpdate(retentionUpdate, { args: [{ extendByMs: MINUTE }] });
            accepted++;
            lastAccepted = r.expiresAt;
          } catch (error) {
            expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
            const cause = (error as WorkflowUpdateFailedError).cause;
            expect(cause).toBeInstanceOf(ApplicationFailure);
            expect((cause as ApplicationFailure).type).toBe(FailureTypes.RateLimited);
            limited++;
          }
        }
        await env.sleep(MINUTE);
        runId = (await handle.describe()).runId;
      }

      // The budget held every minute, and the run was continued as new while the delivery still retried.
      expect(runId).not.toBe(firstRunId);
      expect(limited).toBeGreaterThan(0);
      const firstRun = await env.client.workflow.getHandle(handle.workflowId, firstRunId).fetchHistory();
      console.info(
        `bounded history: ${accepted} changes accepted, ${limited} rate-limited; first run ${firstRun.events?.length} events`,
      );
      expect(firstRun.events?.length ?? 0).toBeLessThanOrEqual(RUN_HISTORY_BOUND);

      // The state crossed over whole: the new run has the expiry the last accepted change answered.
      const carried = await handle.query(statusQuery);
      expect(carried.expiresAt).toBe(lastAccepted);
      expect(Date.parse(carried.expiresAt ?? '')).toBeGreaterThanOrEqual(
        Date.parse(ready.expiresAt ?? '') + accepted * MINUTE,
      );
      expect(carried.status).toBe('READY');

      // The handed-over delivery goes on in the new run (the fake succeeds only there), to the target still
      // owed, with the same message id; the callback, delivered by the first run, is not sent again.
      const delivered = await eventually(
        () => handle.query(statusQuery),
        (s) => s.steps.notify.state === 'done',
      );
      expect(delivered.steps.notify.error).toBeNull();
      const toEndpoint = fake.calls.deliverWebhook.filter((d) => d.target.url === TENANT_ENDPOINT);
      expect(toEndpoint.map((d) => d.messageId)).toEqual([`msg_${input.fileId}_file.ready`]);
      expect(fake.calls.deliverWebhook.filter((d) => d.target.url === input.callbackUrl)).toHaveLength(1);
    } finally {
      await workers.stop();
    }
    // About 220 updates against the time-skipping server, one after another, as a looping client sends them.
  }, 240_000);
});
