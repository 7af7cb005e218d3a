import { cancellationSignal } from '@temporalio/activity';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import type {
  DeleteArtifactsInput,
  DeliverWebhookInput,
  IntakeActivities,
  PlanNotificationsInput,
  PublishEventInput,
  RecordBatchDoneInput,
  RemoveRenditionsInput,
  StoreInput,
  ValidateResult,
  WebhookTarget,
} from '../../../activities/types';
import { intakeDataConverter } from '../../../lib/data-converter';
import type { PayloadKey } from '../../../lib/payload-codec';
import { storageKeys } from '../../../lib/storage-keys';
import { createWorkers } from '../../../workers/create-worker';
import { DISABLED_TRACING } from '../../../lib/tracing';
import { workflowIdFor } from '../../../common/task-queues';
import type { FileState, Rendition, UploadInput } from '../../../common/domain';
import { SEARCH_ATTRIBUTE_TYPES } from '../../../common/search-attributes';

// These tests fail activities on purpose; the SDK's per-failure warnings would bury real problems.
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // Already installed by another module in this process: keep that one.
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The Temporal CLI (dev server) that `npm run setup` installs; never downloaded at test time. */
export const temporalCliPath = `${repoRoot}.tools/bin/temporal`;
/** The Java time-skipping test server launcher that `npm run setup` installs from Maven Central. */
export const timeSkippingServerPath = `${repoRoot}.tools/temporal-test-server/bin/temporal-test-server`;

export function requireTool(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run setup\` first`);
  return path;
}

/** Dev-server arguments that register Intake's search attributes, as infra does. */
export const searchAttributeArgs = Object.entries(SEARCH_ATTRIBUTE_TYPES).flatMap(([name, type]) => [
  '--search-attribute',
  `${name}=${type}`,
]);

/**
 * The Java time-skipping server takes no `--search-attribute` flags; it registers them through the
 * operator API instead, as a production cluster would (`temporal operator search-attribute create`).
 */
/**
 * The payload keys of the workflow tests: fixed, so a history recorded with encryption on
 * (test/workflow/histories/encrypted-*) replays with the same keys. `test-old` encrypts nothing any
 * more but stays listed, as a rotated-out key would.
 */
export const TEST_PAYLOAD_KEYS: PayloadKey[] = [
  { id: 'test-2026-12', key: Buffer.alloc(32, 0x2c) },
  { id: 'test-old', key: Buffer.alloc(32, 0x0b) },
];

/** What production's clients and workers use (lib/data-converter.ts), with the test keys. */
export const testDataConverter = intakeDataConverter(TEST_PAYLOAD_KEYS);

/** The real Temporal dev server binary, with Intake's search attributes registered. */
export function startDevServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: requireTool(temporalCliPath) },
      extraArgs: searchAttributeArgs,
    },
    client: { dataConverter: testDataConverter },
  });
}

/**
 * Temporal's Java time-skipping test server, with Intake's search attributes registered. The SDK
 * gives the server 5 s to listen; on a loaded 2-core machine the JVM can take longer, so a start that
 * timed out is tried again on a fresh port rather than failing the whole file.
 */
export async function startTimeSkippingEnv(attempts = 4): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: requireTool(timeSkippingServerPath) } },
        client: { dataConverter: testDataConverter },
      });
      await registerSearchAttributes(env);
      return env;
    } catch (error) {
      if (attempt >= attempts || !/did not start within/.test(String(error))) throw error;
    }
  }
}

export async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.entries(SEARCH_ATTRIBUTE_TYPES).map(([name, type]) => [
        name,
        encodeSearchAttributeIndexedValueType(type.toUpperCase() as 'KEYWORD')!,
      ]),
    ),
  });
}

export const IMAGE: ValidateResult = { contentType: 'image/jpeg', isImage: true, width: 4000, height: 3000 };
export const PDF: ValidateResult = { contentType: 'application/pdf', isImage: false, width: null, height: null };

let counter = 0;
export function uploadInput(overrides: Partial<UploadInput> = {}): UploadInput {
  counter += 1;
  const fileId = overrides.fileId ?? `f${Date.now().toString(36)}${counter}`;
  const tenantId = overrides.tenantId ?? 'acme';
  return {
    fileId,
    tenantId,
    filename: 'holiday.jpg',
    declaredContentType: 'image/jpeg',
    size: 123_456,
    incomingKey: storageKeys.incoming(tenantId, fileId),
    tags: ['beach'],
    callbackUrl: 'https://callback.example/hooks/intake',
    retentionMs: 7 * 86_400_000,
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Every call the fake activities received, for assertions. */
export interface Calls {
  scanFile: number;
  validateFile: number;
  makeRenditions: number;
  storeFile: StoreInput[];
  indexFile: number;
  recordFile: FileState[];
  planNotifications: PlanNotificationsInput[];
  deliverWebhook: DeliverWebhookInput[];
  removeRenditions: RemoveRenditionsInput[];
  deleteArtifacts: DeleteArtifactsInput[];
  recordBatchDone: RecordBatchDoneInput[];
  publishEvent: PublishEventInput[];
}

export interface FakeActivities {
  activities: IntakeActivities;
  calls: Calls;
}

export const TENANT_ENDPOINT = 'https://tenant.example/webhooks';

/**
 * Activities that behave like the real ones at the contract level (results, failure types) without
 * S3, Postgres or clamd: the workflow's branching is what these tests are about.
 */
export function fakeActivities(overrides: Partial<IntakeActivities> = {}, validation = IMAGE): FakeActivities {
  const calls: Calls = {
    scanFile: 0,
    validateFile: 0,
    makeRenditions: 0,
    storeFile: [],
    indexFile: 0,
    recordFile: [],
    planNotifications: [],
    deliverWebhook: [],
    removeRenditions: [],
    deleteArtifacts: [],
    recordBatchDone: [],
    publishEvent: [],
  };
  const base: IntakeActivities = {
    async scanFile(input) {
      calls.scanFile++;
      return { sha256: `sha-${input.fileId}`, size: 123_456 };
    },
    async validateFile() {
      calls.validateFile++;
      return validation;
    },
    async makeRenditions(input) {
      calls.makeRenditions++;
      // The default renditions since formats: WebP, and AVIF beside it for the larger sizes. A PDF gets
      // the thumb of its first page only (a US Letter page is portrait).
      if (input.contentType === 'application/pdf') {
        const key = storageKeys.rendition(input.tenantId, input.fileId, 'thumb', 'webp');
        return [{ name: 'thumb', key, format: 'webp', width: 198, height: 256, size: 900, frames: 1 }];
      }
      const renditions = [
        ['thumb', 'webp', 256],
        ['medium', 'webp', 1024],
        ['large', 'webp', 2048],
        ['medium-avif', 'avif', 1024],
        ['large-avif', 'avif', 2048],
      ] as const;
      return renditions.map(([name, format, edge], i): Rendition => ({
        name,
        key: storageKeys.rendition(input.tenantId, input.fileId, name, format),
        format,
        width: edge,
        height: (edge * 3) / 4,
        size: 1000 * (i + 1),
        frames: 1,
      }));
    },
    async storeFile(input) {
      calls.storeFile.push(input);
      return { key: storageKeys.original(input.upload.tenantId, input.upload.fileId) };
    },
    async indexFile() {
      calls.indexFile++;
    },
    async recordFile(state) {
      calls.recordFile.push(state);
    },
    async planNotifications(input) {
      calls.planNotifications.push(input);
      const targets: WebhookTarget[] = [{ endpointId: 'ep_1', url: TENANT_ENDPOINT }];
      if (input.callbackUrl) targets.push({ endpointId: null, url: input.callbackUrl });
      return targets;
    },
    async deliverWebhook(input) {
      calls.deliverWebhook.push(input);
      return { statusCode: 204 };
    },
    async removeRenditions(input) {
      calls.removeRenditions.push(input);
    },
    async deleteArtifacts(input) {
      calls.deleteArtifacts.push(input);
    },
    async recordBatchDone(input) {
      calls.recordBatchDone.push(input);
    },
    async publishEvent(input) {
      calls.publishEvent.push(input);
    },
  };
  // Overrides still record their calls, so tests can assert on both behaviour and traffic.
  const activities = { ...base };
  for (const [name, fn] of Object.entries(overrides) as [keyof IntakeActivities, (...a: never[]) => unknown][]) {
    const recorder = base[name] as (...a: unknown[]) => Promise<unknown>;
    (activities as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const result = await (fn as (...a: unknown[]) => unknown)(...args);
      await recorder(...args);
      return result;
    };
  }
  return { activities, calls };
}

/** An activity body that never finishes on its own: it ends only when Temporal cancels it. */
export function untilCancelled(): Promise<never> {
  const signal = cancellationSignal();
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** A non-retryable business failure, as the real activities throw it. */
export function businessFailure(type: string, message: string, details: unknown[] = []): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details });
}

export interface RunningWorkers {
  stop(): Promise<void>;
}

/** Starts the real worker set-up (both task queues, attempt reporting) against the test server. */
export async function startWorkers(
  env: TestWorkflowEnvironment,
  activities: IntakeActivities,
  options: { maxCachedWorkflows?: number } = {},
): Promise<RunningWorkers> {
  const workers: Worker[] = await createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    dataConverter: testDataConverter,
    activities,
    kind: 'all',
    resizeConcurrency: 2,
    maxCachedWorkflows: options.maxCachedWorkflows,
    shutdownGraceTime: '1 second',
    // As production runs: the OpenTelemetry interceptors bundled and the otel-tracing patch recorded
    // (spans go nowhere: no exporter in tests), so fresh histories are traced ones.
    tracing: { ...DISABLED_TRACING, enabled: true },
  });
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    },
  };
}

export const workflowId = (input: UploadInput) => workflowIdFor(input.fileId);

/** Polls until `check` accepts a value (queries are the workflow's public face; no sleeps-and-hope). */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  { timeoutMs = 20_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (check(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`,
  );
}
