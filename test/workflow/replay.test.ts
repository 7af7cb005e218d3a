import type { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workers/create-worker';
import { readHistories } from './support/history-files';
import { runReplayScenarios, type CapturedHistory } from './support/replay-scenarios';
import { startDevServerEnv, testDataConverter } from './support/workflow-env';

const { History } = proto.temporal.api.history.v1;

/*
 * Upload workflows wait for days, so the code that picks them up after a deploy must replay their
 * histories exactly. A change that breaks determinism fails here; gate such a change with
 * `patched()` and keep the old histories in test/workflow/histories/.
 */

let env: TestWorkflowEnvironment;
let captured: CapturedHistory[] = [];

beforeAll(async () => {
  env = await startDevServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

describe('workflow replay', () => {
  it('histories of finished workflows replay against the current workflow code', async () => {
    captured = await runReplayScenarios(env);
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

  it("a new run decides every patch before its first local activity, so a split task can't break its replay", async () => {
    // Temporal's core can record the commands after a local activity's result one workflow task after
    // the result; a patch first called there is unknown to a replay when the call is reached.
    expect(captured.map((c) => c.name)).toContain('infected-expired');
    const uploads = captured.filter(
      ({ history }) =>
        history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'uploadWorkflow',
    );
    expect(uploads.length).toBeGreaterThanOrEqual(4);
    for (const { name, history } of uploads) {
      const events = history.events ?? [];
      const markerName = (e: (typeof events)[number]) => e.markerRecordedEventAttributes?.markerName;
      const firstLocalActivity = events.findIndex((e) => markerName(e) === 'core_local_activity');
      const patches = events.flatMap((e, at) => (markerName(e) === 'core_patch' ? [at] : []));
      expect(firstLocalActivity, name).toBeGreaterThan(0);
      expect(patches.length, name).toBeGreaterThanOrEqual(6);
      expect(
        patches.filter((at) => at > firstLocalActivity),
        name,
      ).toEqual([]);
    }
  });

  it('the committed histories still replay, so running workflows survive a deploy', async () => {
    const committed = readHistories();
    // remote-steps-*: recorded before the short steps became local activities (the `local-steps` patch).
    // split-modules-*: recorded after the workflow was split into modules beside it (same commands).
    // bounded-history-*: with the bounded-history patch (budgeted changes, coalesced upserts, a delete
    // cancelling processing).
    // early-patches-*: every patch decided in the first activation, before any local activity.
    // batch-member-*: with the batch-member patch (files of a batch tell its workflow their outcome; a
    // part refused on arrival ends REJECTED without a step), and batchWorkflow's own history.
    // stop23-*: batch-member decided early too, with Kafka ingest and direct uploads merged.
    // events-topic-*: with the events-topic patch (every webhook event also published to the events topic).
    // otel-tracing-*: recorded with the OpenTelemetry interceptors, behind the otel-tracing patch.
    // otel-activity-context-*: traced, with activities under the run's span (no StartActivity spans).
    // pdf-thumbnail-*: with the pdf-thumbnail patch (a PDF's resize step makes the thumb of its first
    // page; one that cannot be drawn leaves the PDF READY without it).
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
        'early-patches-deleted-while-scanning',
        'early-patches-image-ready-deleted',
        'early-patches-infected-expired',
        'early-patches-pdf-failed-expired',
        'encrypted-image-ready-deleted',
        'encrypted-pdf-failed-expired',
        'batch-member-image-ready-deleted',
        'batch-member-batch-completed',
        'batch-member-batch-file-ready-expired',
        'batch-member-batch-file-refused-expired',
        'events-topic-image-ready-deleted',
        'events-topic-pdf-failed-expired',
        'events-topic-deleted-while-scanning',
        'events-topic-batch-completed',
        'events-topic-batch-file-ready-expired',
        'events-topic-batch-file-refused-expired',
        'stop23-batch-completed',
        'stop23-batch-file-ready-expired',
        'stop23-batch-file-refused-expired',
        'stop23-deleted-while-scanning',
        'stop23-image-ready-deleted',
        'stop23-infected-expired',
        'stop23-pdf-failed-expired',
        'otel-tracing-image-ready-deleted',
        'otel-tracing-pdf-failed-expired',
        'otel-tracing-deleted-while-scanning',
        'otel-activity-context-image-ready-deleted',
        'otel-activity-context-pdf-failed-expired',
        'otel-activity-context-deleted-while-scanning',
        'otel-activity-context-infected-expired',
        'otel-activity-context-batch-file-ready-expired',
        'otel-activity-context-batch-file-refused-expired',
        'pdf-thumbnail-image-ready-deleted',
        'pdf-thumbnail-pdf-failed-expired',
        'pdf-thumbnail-pdf-no-thumbnail-ready-expired',
        'pdf-thumbnail-deleted-while-scanning',
        'pdf-thumbnail-infected-expired',
        'pdf-thumbnail-batch-completed',
        'pdf-thumbnail-batch-file-ready-expired',
        'pdf-thumbnail-batch-file-refused-expired',
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
