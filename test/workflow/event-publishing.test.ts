import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusQuery } from '../../common/messages';
import { GENERAL_TASK_QUEUE } from '../../common/task-queues';
import { uploadWorkflow } from '../../workflows/index';
import {
  eventually,
  fakeActivities,
  startDevServerEnv,
  startWorkers,
  uploadInput,
  workflowId,
} from './support/workflow-env';

/*
 * Events on the events topic (events-topic patch), on the real Temporal dev server binary with fake
 * activities: every event told to webhooks is published too, in order and with the webhook's id, and a
 * broker that is away delays only the events.
 */

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

describe('events on the events topic', () => {
  it("publishes a file's outcome and its deletion, in that order, with the webhooks' message ids", async () => {
    const fake = fakeActivities();
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput({ retentionMs: 1_500, retentionMinMs: 1_000 });
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      await handle.result();
      const published = fake.calls.publishEvent.map(({ event }) => [event.event, event.messageId, event.fileId]);
      expect(published).toEqual([
        ['file.ready', `msg_${input.fileId}_file.ready`, input.fileId],
        ['file.deleted', `msg_${input.fileId}_file.deleted`, input.fileId],
      ]);
      const webhookIds = new Set(fake.calls.deliverWebhook.map((d) => d.messageId));
      for (const [, messageId] of published) expect(webhookIds).toContain(messageId);
      const [ready, deleted] = fake.calls.publishEvent;
      expect(ready?.event).toMatchObject({ file: { status: 'READY' } });
      expect(deleted?.event).toMatchObject({ file: { status: 'DELETED' } });
    } finally {
      await workers.stop();
    }
  });

  it('a broker that is away delays the events, never the outcome or the deletion; they are published once it is back', async () => {
    let brokerUp = false;
    let refused = 0;
    const fake = fakeActivities({
      async publishEvent() {
        if (!brokerUp) {
          refused++;
          throw new Error('connect ECONNREFUSED 127.0.0.1:9092');
        }
      },
    });
    const workers = await startWorkers(env, fake.activities);
    try {
      const input = uploadInput({ retentionMs: 1_500, retentionMinMs: 1_000 });
      const handle = await env.client.workflow.start(uploadWorkflow, {
        taskQueue: GENERAL_TASK_QUEUE,
        workflowId: workflowId(input),
        args: [input],
      });
      // READY, expired and deleted while not one event could be published.
      await eventually(
        async () => fake.calls.deleteArtifacts.length,
        (count) => count === 1,
      );
      const state = await eventually(
        () => handle.query(statusQuery),
        (s) => s.status === 'DELETED',
      );
      expect(state.steps.notify.state).toBe('done');
      expect(fake.calls.publishEvent).toEqual([]);
      expect(refused).toBeGreaterThan(0);

      brokerUp = true;
      await handle.result();
      expect(fake.calls.publishEvent.map(({ event }) => event.event)).toEqual(['file.ready', 'file.deleted']);
    } finally {
      await workers.stop();
    }
  });
});
