import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workers/create-worker';
import { readHistories } from './support/history-files';
import { runReplayScenarios } from './support/replay-scenarios';
import { startDevServerEnv } from './support/workflow-env';

/*
 * Upload workflows wait for days, so the code that picks them up after a deploy must replay their
 * histories exactly. A change that breaks determinism fails here; gate such a change with
 * `patched()` and keep the old histories in test/workflow/histories/.
 */

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

describe('workflow replay', () => {
  it('histories of finished workflows replay against the current workflow code', async () => {
    const captured = await runReplayScenarios(env);
    expect(captured.length).toBeGreaterThanOrEqual(2);
    const replays = Worker.runReplayHistories(
      { workflowBundle: await bundleWorkflows() },
      captured.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    const results = [];
    for await (const result of replays) results.push(result);
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error ? String(r.error) : null }))).toEqual(
      captured.map((c) => ({ workflowId: c.workflowId, error: null })),
    );
  });

  it('the committed histories still replay, so running workflows survive a deploy', async () => {
    const committed = readHistories();
    // remote-steps-*: recorded before the short steps became local activities (the `local-steps` patch).
    // split-modules-*: recorded after the workflow was split into modules beside it (same commands).
    // bounded-history-*: with the bounded-history patch (budgeted changes, coalesced upserts, a delete
    // cancelling processing).
    expect(committed.map((h) => h.name)).toEqual(
      expect.arrayContaining([
        'bounded-history-deleted-while-scanning',
        'bounded-history-image-ready-deleted',
        'image-ready-deleted',
        'pdf-failed-expired',
        'remote-steps-image-ready-deleted',
        'remote-steps-pdf-failed-expired',
        'split-modules-image-ready-deleted',
        'split-modules-pdf-failed-expired',
      ]),
    );
    for (const { history } of committed) {
      await expect(
        Worker.runReplayHistory({ workflowBundle: await bundleWorkflows() }, history),
      ).resolves.toBeUndefined();
    }
  });
});
