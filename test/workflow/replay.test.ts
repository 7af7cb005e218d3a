import type { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workers/create-worker';
import { readHistories } from './support/history-files';
import { runReplayScenarios } from './support/replay-scenarios';
import { startDevServerEnv, testDataConverter } from './support/workflow-env';

const { History } = proto.temporal.api.history.v1;

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
      { workflowBundle: await bundleWorkflows(), dataConverter: testDataConverter },
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
    // otel-tracing-*: recorded with the OpenTelemetry interceptors, behind the otel-tracing patch.
    // encrypted-*: recorded with the payload codec on (TEST_PAYLOAD_KEYS); the others are plaintext and
    // pass through its decode, as running workflows started before the codec do.
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
        'encrypted-image-ready-deleted',
        'encrypted-pdf-failed-expired',
        'otel-tracing-image-ready-deleted',
        'otel-tracing-pdf-failed-expired',
        'otel-tracing-deleted-while-scanning',
      ]),
    );
    for (const { history } of committed) {
      await expect(
        Worker.runReplayHistory({ workflowBundle: await bundleWorkflows(), dataConverter: testDataConverter }, history),
      ).resolves.toBeUndefined();
    }
  });

  it('a history recorded with the codec on carries only encrypted payloads, and replays only with the keys', async () => {
    const encrypted = readHistories().filter((h) => h.name.startsWith('encrypted-'));
    expect(encrypted).toHaveLength(2);
    for (const { name, history } of encrypted) {
      const encodings = payloadEncodings(history);
      // Workflow inputs, activity inputs and results, signals, updates, failures: all encrypted. What
      // stays plain is the SDK's own bookkeeping (patch and local-activity markers) and search
      // attributes, which no codec sees.
      expect(Object.keys(encodings.user), name).toEqual(['binary/encrypted']);
      // Failure messages too (encodeCommonAttributes): the scenarios' activities fail with these.
      // (The filename stays in the IntakeFilename search attribute, which no codec sees: left out here.)
      const events = (history.events ?? []).filter((event) => !event.upsertWorkflowSearchAttributesEventAttributes);
      const bytes = Buffer.from(History.encode({ events }).finish()).toString('latin1');
      for (const message of ['the bucket is gone', 'holiday.jpg', 'callback.example']) {
        expect(bytes.includes(message), `${name}: ${message}`).toBe(false);
      }
      await expect(
        Worker.runReplayHistory({ workflowBundle: await bundleWorkflows() }, history),
        `${name} without the keys`,
      ).rejects.toThrow();
    }
  });
});

/** The encodings of a history's payloads, apart from the SDK's marker bookkeeping and search attributes. */
function payloadEncodings(history: object): { user: Record<string, number> } {
  const user: Record<string, number> = {};
  const walk = (node: unknown, key: string): void => {
    if (Array.isArray(node)) return node.forEach((item) => walk(item, key));
    if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
    // A local-activity marker's `data` (seq, attempt, timing) and a patch marker's id are the SDK's; the
    // marker's `result` is the activity's and is checked.
    const sdkMarkerDetail = (key === 'data' || key === 'patch-data') && 'payloads' in node;
    if (sdkMarkerDetail || key === 'searchAttributes' || key === 'upsertWorkflowSearchAttributesEventAttributes')
      return;
    const metadata = (node as { metadata?: Record<string, unknown> }).metadata;
    if (metadata && 'encoding' in metadata) {
      const raw = metadata.encoding;
      const encoding = Buffer.from(raw as Uint8Array).toString('utf8');
      user[encoding] = (user[encoding] ?? 0) + 1;
    }
    for (const [child, value] of Object.entries(node)) walk(value, child);
  };
  walk(history, '');
  return { user };
}
